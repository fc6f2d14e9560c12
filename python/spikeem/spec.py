"""Network specs: read from .pbtxt / .pb files or text, or built in Python.

A spec is a ``spikeem.schema.Spec`` protobuf message (the schema of the
command line's .pbtxt files, generated from its .proto).  Its messages take
keyword arguments, with dicts and lists for nested and repeated messages::

    import spikeem
    from spikeem import schema

    spec = spikeem.Spec(
        name="two",
        run=dict(duration_ms=100, seed=3),
        population=[dict(name="in", size=10, poisson=dict(rate_hz=dict(constant=20))),
                    dict(name="out", size=1, lif_delta=dict(tau_m_ms=20))])

Validation is the command line's: ``Spec.validate`` (and ``Simulation``)
raise ``SpecError`` with the field path, the value, the rule and the unit.
"""

import os
import re
from collections import namedtuple

from google.protobuf import text_format

from . import _core
from . import spikeem_pb2 as schema

SpecError = _core.SpecError
SpecError.__doc__ = """A spec that spikeem refuses.  str(e) is the message the command line
prints (one line per problem); e.problems lists them as Problem tuples."""

# One refused field: the text as printed, and its parts where the text has them
# ("origin:line:col: field.path = value: rule (unit)").
Problem = namedtuple("Problem", "text origin line column path value rule")

_PROBLEM = re.compile(r"^(?P<origin>.*?):(?:(?P<line>\d+):(?P<column>\d+):)? "
                      r"(?P<path>[^ ]+(?: [^ =]+)*) = (?P<value>.*?): (?P<rule>.*)$")


def problems(error):
    """The problems of a SpecError as a list of Problem tuples."""
    out = []
    for text in str(error).splitlines():
        m = _PROBLEM.match(text)
        if m is None:
            out.append(Problem(text, None, None, None, None, None, None))
            continue
        line = int(m["line"]) if m["line"] else None
        column = int(m["column"]) if m["column"] else None
        out.append(Problem(text, m["origin"], line, column, m["path"], m["value"], m["rule"]))
    return out


SpecError.problems = property(problems)


def _is_binary_path(path):
    return str(path).endswith((".pb", ".binpb"))


class Spec:
    """A network spec.  ``message`` is the ``schema.Spec`` protobuf message;
    attributes not defined here (``spec.population``, ``spec.run`` ...) are the
    message's fields, so ``spec.run.duration_ms = 500`` edits it in place."""

    def __init__(self, message=None, **fields):
        if message is not None and fields:
            raise TypeError("Spec: give a schema.Spec message or keyword fields, not both")
        if message is None:
            message = schema.Spec(**fields)
        elif not isinstance(message, schema.Spec):
            raise TypeError(f"Spec: expected a spikeem.schema.Spec message, got {type(message).__name__}")
        object.__setattr__(self, "message", message)
        # Text this spec was read from, kept while the message is unchanged so
        # that errors name its lines and columns.
        object.__setattr__(self, "_source", None)
        # Where files the spec names by a relative path (spike_times.file,
        # rate_table.file) are read from: the spec file's folder after
        # from_file, "" (the working directory) otherwise.
        object.__setattr__(self, "_base_dir", "")

    @classmethod
    def from_file(cls, path):
        """Read a spec file (text format; binary if the name ends in .pb or .binpb).
        Raises SpecError (line and column named) if spikeem would refuse it.
        Files the spec names by a relative path are read from the spec file's
        folder, as on the command line (for specs from text or built in
        Python: from the working directory)."""
        path = os.fspath(path)
        base_dir = os.path.dirname(path)
        if _is_binary_path(path):
            with open(path, "rb") as f:
                data = f.read()
            _core.load_binary(data, path, base_dir=base_dir)
            message = schema.Spec()
            message.ParseFromString(data)
            spec = cls(message)
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            _core.load_text(text, path, base_dir=base_dir)
            spec = cls(text_format.Parse(text, schema.Spec()))
            object.__setattr__(spec, "_source", (text, path, spec.message.SerializeToString(deterministic=True)))
        object.__setattr__(spec, "_base_dir", base_dir)
        return spec

    @classmethod
    def from_text(cls, text, origin="<text>"):
        """A spec from protobuf text format (what .pbtxt files hold)."""
        _core.load_text(text, origin)  # the command line's parser and checks first: its messages
        spec = cls(text_format.Parse(text, schema.Spec()))
        object.__setattr__(spec, "_source", (text, origin, spec.message.SerializeToString(deterministic=True)))
        return spec

    def __getattr__(self, name):
        return getattr(self.message, name)

    def __setattr__(self, name, value):
        if name == "message":
            raise AttributeError("Spec.message cannot be replaced; make a new Spec")
        setattr(self.message, name, value)

    def __repr__(self):
        pops = ", ".join(f"{p.name}[{p.size}]" for p in self.message.population)
        return f"<spikeem.Spec {self.message.name!r}: {pops}>"

    def copy(self):
        """An independent copy (edits to it leave this one alone)."""
        c = schema.Spec()
        c.CopyFrom(self.message)
        spec = Spec(c)
        object.__setattr__(spec, "_base_dir", self._base_dir)
        return spec

    def to_text(self):
        """The spec in text format, as a .pbtxt file holds it."""
        return text_format.MessageToString(self.message)

    def save(self, path):
        """Write the spec: binary if the name ends in .pb or .binpb, text otherwise."""
        path = os.fspath(path)
        data = self.message.SerializeToString(deterministic=True) if _is_binary_path(path) else self.to_text().encode()
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def validate(self, seed=None, duration_ms=None):
        """Check the spec as ``spikeem validate`` does; seed and duration_ms replace
        the spec's own as ``--seed`` and ``--duration-ms`` do.  Returns the
        engine's validated spec; raises SpecError."""
        if self._source is not None and self._source[2] == self.message.SerializeToString(deterministic=True):
            return _core.load_text(self._source[0], self._source[1], seed, duration_ms, self._base_dir)
        return _core.load_binary(self.message.SerializeToString(deterministic=True), "<python spec>", seed,
                                 duration_ms, self._base_dir)

    def hash(self):
        """The spec hash that run.json records ("fnv1a64:...")."""
        return self.validate().hash
