#pragma once
// --set FIELD.PATH=VALUE: change one field of a spec before it is validated,
// without editing the file.  The path is the field names from the top of the
// spec, with a repeated message's element named in brackets by its `name`
// (or its index): population[E].lif_delta.tau_m_ms=10, run.duration_ms=500,
// projection[E->I].weight_mV.constant=0.2.  The value is written as in a
// .pbtxt file (a string may go without quotes, a list as [a, b], a message as
// { ... }) and replaces the field's value as a whole.
#include <string>

#include "io/spec_loader.hpp"
#include "io/spikeem.pb.h"

namespace spikeem::io {

// Throws SpecError ("--set ASSIGNMENT: what is wrong") for a path that names
// no field or element, or a value the field cannot hold.
void apply_set(proto::Spec& spec, const std::string& assignment);

}  // namespace spikeem::io
