#!/usr/bin/env python3
"""Generates docs/spec.md, the reference of every spec field, from the comments
of io/spikeem.proto, so that the reference cannot drift from the schema.

Usage: gen_spec_doc.py PROTO OUT             write the reference to OUT
       gen_spec_doc.py --check PROTO DOC     exit 1 (with a one-line hint) when DOC
                                             is not what PROTO generates, 0 when it is
       gen_spec_doc.py --check --strict ...  also exit 1 while a field has no
                                             allowed range or default in its comment
       gen_spec_doc.py --self-test           check the parser on a small inline proto

The proto is read as text (proto3: messages, nested messages and enums, oneofs,
`optional`, `repeated`); no protoc is needed.  Comments attach as protoc
attaches them: a leading comment is the block of comment lines directly above a
declaration (a blank line detaches it); a trailing comment belongs to the last
field or enum value that ends on its line (else to the message, oneof or enum
opened there), and comment-only lines below it that start in the same column
continue it.

A field's comment is split into clauses at `;` and at sentence ends.  A clause
that states what is allowed or what an absent field means (it starts with a
comparison such as `> 0`, `in [0, 1]`, `default`, `required`, ... - see
RULE_START) goes to the "allowed / default" column, as does a parenthesised
`(> 0)`; the rest is the description.  Fields whose comment has no such clause
are listed on stderr.  The unit comes from the field name's suffix (UNITS).
The example spec of the introduction is EXAMPLE, read relative to the folder
above the proto's folder.
"""
import os
import re
import sys

# Name suffix (as "_"-separated parts, matched case-insensitively, longest first) -> unit.
UNITS = [
    (("mV", "per", "ms"), "mV/ms"),
    (("hz", "per", "s"), "Hz/s"),
    (("mV", "ms"), "mV ms"),
    (("per", "mV"), "1/mV"),
    (("per", "ms"), "1/ms"),
    (("per", "s"), "1/s"),
    (("mV",), "mV"),
    (("nA",), "nA"),
    (("pA",), "pA"),
    (("ms",), "ms"),
    (("ns",), "ns"),
    (("us",), "us"),
    (("s",), "s"),
    (("hz",), "Hz"),
]
NO_UNIT = "—"

# A clause that starts like this states what is allowed or the default.
RULE_START = re.compile(
    r"^(?:[A-Za-z_][A-Za-z0-9_]{0,11}\s+)?(?:>=|<=|!=|>|<|in\s*[\[(])"
    r"|^(?:default|required|optional|absent|any|finite|must|needs?|unique|at least|at most|one per|one of"
    r"|a power of ten|\d+ to \d+ of)\b",
    re.IGNORECASE)

EXAMPLE = "examples/eq1/eq1_network.pbtxt"
SCALARS = {"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64",
           "sfixed32", "sfixed64", "bool", "string", "bytes"}


class ProtoError(Exception):
    pass


# ---- reading the proto

class Tok:
    def __init__(self, kind, text, line, col):
        self.kind, self.text, self.line, self.col = kind, text, line, col


class Comment:
    def __init__(self, line, col, text, after_code):
        self.line, self.col, self.text, self.after_code = line, col, text, after_code
        self.used = False


TOKEN = re.compile(r"""
   (?P<comment>//[^\n]*)
  |(?P<block>/\*.*?\*/)
  |(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  |(?P<number>-?(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?))
  |(?P<symbol>[{}=;()\[\]<>,:.+-])
  |(?P<space>[ \t\r\f]+)
  |(?P<newline>\n)
""", re.VERBOSE | re.DOTALL)


def tokenize(text, origin):
    """The code tokens and the comments (by line) of a .proto text; lines and columns from 1."""
    toks, comments = [], {}
    line, line_start, pos, code_on_line = 1, 0, 0, False
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise ProtoError(f"{origin}:{line}: unexpected character {text[pos]!r}")
        kind, s, col = m.lastgroup, m.group(), pos - line_start + 1
        if kind == "newline":
            line, line_start, code_on_line = line + 1, m.end(), False
        elif kind == "comment":
            comments[line] = Comment(line, col, s[2:], code_on_line)
        elif kind == "block":
            body = re.sub(r"^\s*\*?", "", s[2:-2], flags=re.MULTILINE)
            comments[line] = Comment(line, col, " " + " ".join(body.split()), code_on_line)
            line += s.count("\n")
            if "\n" in s:
                line_start = pos + s.rfind("\n") + 1
        elif kind != "space":
            toks.append(Tok(kind, s, line, col))
            code_on_line = True
        pos = m.end()
    return toks, comments


class Decl:
    """A message, enum, oneof, field or enum value, with where it sits in the text."""

    def __init__(self, kind, name, line):
        self.kind, self.name, self.line = kind, name, line
        self.end = None          # (line, col) of the `;` of a field or value, of the `{` of a block
        self.leading, self.trailing = [], []
        self.items = []          # message: its fields and oneofs in order; oneof: fields; enum: values
        self.full = name         # messages and enums: the dotted name within the package
        self.label, self.type, self.number, self.oneof = "", "", None, None
        self.nested = []         # messages: nested messages and enums


class Parser:
    def __init__(self, toks, origin):
        self.toks, self.pos, self.origin = toks, 0, origin
        self.decls = []          # every Decl, in text order
        self.types = {}          # full name -> message or enum Decl, in text order
        self.header = Decl("file", "", 1)

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else Tok("eof", "", 0, 0)

    def next(self):
        t = self.peek()
        if t.kind == "eof":
            raise ProtoError(f"{self.origin}: unexpected end of file")
        self.pos += 1
        return t

    def expect(self, text):
        t = self.next()
        if t.text != text:
            raise ProtoError(f"{self.origin}:{t.line}:{t.col}: expected {text!r}, found {t.text!r}")
        return t

    def ident(self):
        t = self.next()
        if t.kind != "ident":
            raise ProtoError(f"{self.origin}:{t.line}:{t.col}: expected a name, found {t.text!r}")
        return t

    def skip_statement(self):
        while self.next().text != ";":
            pass

    def skip_options(self):
        if self.peek().text == "[":
            depth = 0
            while True:
                t = self.next().text
                depth += (t == "[") - (t == "]")
                if depth == 0:
                    break

    def decl(self, kind, name, line):
        d = Decl(kind, name, line)
        self.decls.append(d)
        return d

    def parse_file(self):
        first = True
        while self.peek().kind != "eof":
            t = self.next()
            if first:
                self.header.line, first = t.line, False
            if t.text in ("syntax", "package", "import", "option", "edition"):
                self.skip_statement()
            elif t.text == "message":
                self.parse_message("")
            elif t.text == "enum":
                self.parse_enum("")
            elif t.text != ";":
                raise ProtoError(f"{self.origin}:{t.line}:{t.col}: unsupported top-level {t.text!r}")

    def parse_message(self, scope):
        name = self.ident()
        m = self.decl("message", name.text, name.line)
        m.full = f"{scope}.{name.text}" if scope else name.text
        self.types[m.full] = m
        brace = self.expect("{")
        m.end = (brace.line, brace.col)
        while self.peek().text != "}":
            t = self.peek()
            if t.text == "message" and self.toks[self.pos + 1].kind == "ident":
                self.next()
                m.nested.append(self.parse_message(m.full))
            elif t.text == "enum" and self.toks[self.pos + 1].kind == "ident":
                self.next()
                m.nested.append(self.parse_enum(m.full))
            elif t.text == "oneof":
                self.next()
                m.items.append(self.parse_oneof(m))
            elif t.text in ("option", "reserved", "extensions"):
                self.skip_statement()
            elif t.text == ";":
                self.next()
            else:
                m.items.append(self.parse_field(m, None))
        self.expect("}")
        return m

    def parse_oneof(self, msg):
        name = self.ident()
        o = self.decl("oneof", name.text, name.line)
        brace = self.expect("{")
        o.end = (brace.line, brace.col)
        while self.peek().text != "}":
            if self.peek().text == "option":
                self.skip_statement()
            elif self.peek().text == ";":
                self.next()
            else:
                o.items.append(self.parse_field(msg, o))
        self.expect("}")
        return o

    def parse_field(self, msg, oneof):
        first = self.peek()
        label = ""
        if first.text in ("optional", "repeated", "required"):
            label = self.next().text
        if self.peek().text == "map":
            self.next()
            self.expect("<")
            key = self.ident().text
            self.expect(",")
            value = self.type_name()
            self.expect(">")
            type_ = f"map<{key}, {value}>"
        else:
            type_ = self.type_name()
        name = self.ident()
        self.expect("=")
        number = self.next()
        self.skip_options()
        semi = self.expect(";")
        f = self.decl("field", name.text, first.line)
        f.label, f.type, f.number, f.oneof = label, type_, int(number.text, 0), oneof
        f.end = (semi.line, semi.col)
        f.parent = msg
        return f

    def type_name(self):
        """A type as written: `Name`, `Outer.Name` or fully qualified `.package.Name`."""
        if self.peek().text == ".":
            self.next()
            return "." + self.ident().text
        return self.ident().text

    def parse_enum(self, scope):
        name = self.ident()
        e = self.decl("enum", name.text, name.line)
        e.full = f"{scope}.{name.text}" if scope else name.text
        self.types[e.full] = e
        brace = self.expect("{")
        e.end = (brace.line, brace.col)
        while self.peek().text != "}":
            if self.peek().text in ("option", "reserved"):
                self.skip_statement()
                continue
            if self.peek().text == ";":
                self.next()
                continue
            vname = self.ident()
            self.expect("=")
            number = self.next()
            self.skip_options()
            semi = self.expect(";")
            v = self.decl("value", vname.text, vname.line)
            v.number, v.end = int(number.text, 0), (semi.line, semi.col)
            e.items.append(v)
        self.expect("}")
        return e


def attach_comments(decls, header, comments):
    """Trailing comments first (they may run on below their line), then leading blocks."""
    by_line = {}
    for d in decls:
        by_line.setdefault(d.end[0], []).append(d)
    for line, c in sorted(comments.items()):
        if not c.after_code or line not in by_line:
            continue
        # The last declaration ending before the comment: a field or value's `;`, else a block's `{`.
        ends = [d for d in by_line[line] if d.end[1] < c.col]
        terminated = [d for d in ends if d.kind in ("field", "value")]
        owner = max(terminated or ends, key=lambda d: d.end[1], default=None)
        if owner is None:
            continue
        c.used = True
        owner.trailing.append(c.text)
        k = line + 1
        while k in comments and not comments[k].after_code and comments[k].col == c.col:
            comments[k].used = True
            owner.trailing.append(comments[k].text)
            k += 1
    for d in [header] + decls:
        k, block = d.line - 1, []
        while k in comments and not comments[k].after_code and not comments[k].used:
            comments[k].used = True
            block.insert(0, comments[k].text)
            k -= 1
        d.leading = block


def parse_proto(text, origin):
    toks, comments = tokenize(text, origin)
    p = Parser(toks, origin)
    p.parse_file()
    attach_comments(p.decls, p.header, comments)
    resolve_types(p.types, origin)
    return p


def resolve_types(types, origin):
    """Each field's type_ref: the message or enum Decl it names (scoped lookup), or None for scalars."""
    for scope, d in list(types.items()):
        if d.kind != "message":
            continue
        for f in fields_of(d):
            f.type_ref = None
            name = f.type
            if name.startswith("map<"):
                name = name[4:-1].split(",")[1].strip()
            if name in SCALARS:
                continue
            f.type_ref = lookup(types, scope, name)
            if f.type_ref is None:
                raise ProtoError(f"{origin}:{f.line}: {d.full}.{f.name}: unknown type {name!r}")


def lookup(types, scope, name):
    if name.startswith("."):
        # Fully qualified: drop the package (any leading part that is not a known type).
        parts = name[1:].split(".")
        for i in range(len(parts)):
            if ".".join(parts[i:]) in types:
                return types[".".join(parts[i:])]
        return None
    parts = scope.split(".")
    for i in range(len(parts), -1, -1):
        cand = ".".join(parts[:i] + [name])
        if cand in types:
            return types[cand]
    return None


def fields_of(msg):
    out = []
    for it in msg.items:
        out.extend(it.items if it.kind == "oneof" else [it])
    return out


# ---- from comments to table cells

def suffix_of(name):
    """The entry of UNITS that field `name` ends in, or None."""
    parts = [p.lower() for p in name.split("_")]
    for suffix, _ in UNITS:
        n = len(suffix)
        if len(parts) > n and parts[-n:] == [s.lower() for s in suffix]:
            return suffix
    return None


def unit_of(name):
    return dict(UNITS).get(suffix_of(name), NO_UNIT)


def comment_text(lines):
    return " ".join(" ".join(lines).split())


def top_level_split(text, sep_re):
    """Splits text where sep_re matches outside brackets and backquotes."""
    parts, depth, start, code, i = [], 0, 0, False, 0
    while i < len(text):
        c = text[i]
        if c == "`":
            code = not code
        elif not code and c in "([{":
            depth += 1
        elif not code and c in ")]}":
            depth = max(0, depth - 1)
        elif not code and depth == 0:
            m = sep_re.match(text, i)
            if m:
                parts.append(text[start:i + (1 if c == "." else 0)])
                start = i = m.end()
                continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


SENTENCE_END = re.compile(r"\.\s+(?=[A-Z`])")
CLAUSE_END = re.compile(r";\s*")
PAREN = re.compile(r"\s*\(([^()]*)\)")


def split_rules(text):
    """(allowed/default clauses, description) of a field comment."""
    rules, sentences = [], []
    for sentence in top_level_split(text, SENTENCE_END):
        kept = []
        for clause in top_level_split(sentence, CLAUSE_END):
            bare = clause[:-1] if clause.endswith(".") else clause
            if RULE_START.match(bare):
                # "Required", a sentence's start, reads "required" among the other rules.
                rules.append(bare[0].lower() + bare[1:] if re.match(r"[A-Z][a-z]", bare) else bare)
                continue

            def pull(m):
                if RULE_START.match(m.group(1).strip()):
                    rules.append(m.group(1).strip())
                    return ""
                return m.group()
            clause = PAREN.sub(pull, clause).strip()
            if clause and clause != ".":
                kept.append(clause)
        if kept:
            s = "; ".join(kept)
            # A sentence keeps its full stop when its last clause went to the rules.
            sentences.append(s + "." if sentence.endswith(".") and not s.endswith(".") else s)
    return rules, " ".join(sentences)


def comment_rules(d):
    """(rules, description) of a field or oneof: its leading and trailing comments split on their own."""
    lead_rules, lead_desc = split_rules(comment_text(d.leading))
    trail_rules, trail_desc = split_rules(comment_text(d.trailing))
    return lead_rules + trail_rules, " ".join(x for x in (lead_desc, trail_desc) if x)


def md(text):
    """Text made safe for markdown (tables included); `code spans` are kept as they are."""
    out = []
    for k, part in enumerate(re.split(r"(`[^`]*`)", text)):
        if k % 2 == 1:
            out.append(part)
            continue
        part = part.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("<", "\\<")
        part = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", part)
        out.append(part)
    return "".join(out)


def anchor(heading):
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def link(d):
    return f"[{d.full}](#{anchor(d.full)})"


def prose(lines):
    """Comment lines as markdown: lines indented past the comment's margin become code blocks."""
    out, para, code = [], [], []

    def flush():
        if para:
            out.append(md(" ".join(" ".join(para).split())))
            para.clear()
        if code:
            margin = min(len(c) - len(c.lstrip()) for c in code)
            out.append("```\n" + "\n".join(c[margin:].rstrip() for c in code) + "\n```")
            code.clear()
    for raw in lines:
        s = raw[1:] if raw.startswith(" ") else raw
        if not s.strip():
            flush()
        elif s.startswith(" "):
            if para:
                flush()
            code.append(s)
        else:
            if code:
                flush()
            para.append(s.strip())
    flush()
    return "\n\n".join(out)


# ---- the tables

class Row:
    """One table row: a field, or the head row of a oneof (kind "oneof")."""

    def __init__(self, kind, name, type_text, type_ref, unit, allowed, description, oneof=None, decl=None):
        self.kind, self.name, self.type_text, self.type_ref = kind, name, type_text, type_ref
        self.unit, self.allowed, self.description, self.oneof, self.decl = unit, allowed, description, oneof, decl

    def cells(self):
        """The row as plain text (what the self-test compares)."""
        field = f"{self.name} (oneof)" if self.kind == "oneof" else (
            f"{self.name} (in {self.oneof})" if self.oneof else self.name)
        return (field, self.type_text, self.unit, "; ".join(self.allowed), self.description)


def rows_of(msg):
    rows = []
    for it in msg.items:
        if it.kind == "oneof":
            rules, desc = comment_rules(it)
            choice = "one of: " + ", ".join(f.name for f in it.items)
            rows.append(Row("oneof", it.name, "oneof", None, NO_UNIT, [choice] + rules, desc, decl=it))
        for f in (it.items if it.kind == "oneof" else [it]):
            rules, desc = comment_rules(f)
            type_text = f"{f.label} {f.type}".strip() if f.type_ref is None else f"{f.label} {f.type_ref.full}".strip()
            if not rules and f.oneof and f.type_ref is not None and f.type_ref.kind == "message":
                # What may be given is the oneof's (its row) and the message's own fields (its section).
                rules = [f"see `{f.oneof.name}`"]
            rows.append(Row("field", f.name, type_text, f.type_ref, unit_of(f.name), rules, desc,
                            f.oneof.name if f.oneof else None, decl=f))
    return rows


def reading_order(types):
    """Spec first (else the first message), then each type where it is first used, depth-first;
    types used nowhere come last, in text order."""
    order, seen = [], set()

    def visit(d):
        if d.full in seen:
            return
        seen.add(d.full)
        order.append(d)
        if d.kind == "message":
            for f in fields_of(d):
                if f.type_ref is not None:
                    visit(f.type_ref)
    messages = [d for d in types.values() if d.kind == "message"]
    if "Spec" in types:
        visit(types["Spec"])
    elif messages:
        visit(messages[0])
    for d in types.values():
        visit(d)
    return order


def used_in(order):
    uses = {}
    for d in order:
        if d.kind == "message":
            for f in fields_of(d):
                if f.type_ref is not None:
                    uses.setdefault(f.type_ref.full, []).append(f"{link(d)}.`{f.name}`")
    return uses


def warnings_of(order, origin):
    out = []
    for d in order:
        if d.kind != "message":
            continue
        for r in rows_of(d):
            needs = r.allowed[1:] if r.kind == "oneof" else r.allowed
            if not needs:
                what = "oneof" if r.kind == "oneof" else "field"
                out.append(f"{origin}:{r.decl.line}: {what} {d.full}.{r.name}: no allowed range or default in its comment")
    return out


def type_cell(r):
    if r.type_ref is None:
        return md(r.type_text)
    label = r.decl.label + " " if r.decl.label else ""
    return label + link(r.type_ref)


def field_cell(r):
    if r.kind == "oneof":
        return f"`{r.name}` (oneof)"
    return f"`{r.name}` (in `{r.oneof}`)" if r.oneof else f"`{r.name}`"


def allowed_cell(r):
    if r.kind == "oneof":
        head = "one of: " + ", ".join(f"`{f.name}`" for f in r.decl.items)
        return "; ".join([head] + [md(a) for a in r.allowed[1:]])
    return md("; ".join(r.allowed)) if r.allowed else NO_UNIT


def message_section(d, uses):
    out = [f"## {d.full}", ""]
    kind = "*message*" if d.kind == "message" else "*enum*"
    out += [kind + (" · used in " + ", ".join(uses[d.full]) if d.full in uses else ""), ""]
    text = prose(d.leading + d.trailing)
    if text:
        out += [text, ""]
    if d.kind == "enum":
        out += ["| value | number | description |", "|---|---|---|"]
        for v in d.items:
            out.append(f"| `{v.name}` | {v.number} | {md(comment_text(v.leading + v.trailing)) or NO_UNIT} |")
        return out + [""]
    rows = rows_of(d)
    if not rows:
        return out + ["No fields: giving it (`{}`) selects it.", ""]
    out += ["| field | type | unit | allowed / default | description |", "|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {field_cell(r)} | {type_cell(r)} | {r.unit} | {allowed_cell(r)} | "
                   f"{md(r.description) or NO_UNIT} |")
    return out + [""]


# ---- the document

def short_path(path):
    """A path as the document names it: its folder and file name (the same from any working directory)."""
    a = os.path.abspath(path)
    return f"{os.path.basename(os.path.dirname(a))}/{os.path.basename(a)}"


INTRO = """\
A spec is one `Spec` message, below: the populations of a network, the projections between them, what
to record, how long to run, and optionally the objective its learning is measured against. Every
`spikeem` command that simulates a network reads one.

## Files and formats

- **Text** (`.pbtxt`; any file name not ending in `.pb` or `.binpb`): protobuf text format, for people.
  `field: value` for a number, string or enum value, `field { ... }` for a message; a repeated field is
  written once per element or as a list (`rates_hz: [5, 10]`); `#` starts a comment.
- **Binary** (`.pb` or `.binpb`): the serialized `Spec`, for programs.

Both are checked the same way: every field below is validated, every problem is reported (all of them,
one per line, in the order of the sections run, population, projection, record, objective), and a spec
with any problem is refused.

## Field paths in error messages

A problem reads `file:line:col: path = value: rule (unit)`. Line and column are there for text files
only; ` = value` is left out when the field is missing; a problem with a message as a whole (a missing
oneof, say) reads `file: path: rule`. The path joins field names from the top of the `Spec` with `.`:

- a population or projection is named by its name in quotes: `population "E".lif_delta.tau_m_ms`,
  `projection "exc->post".delay_ms.constant` (a projection without a `name` is named `source->target`);
  a population whose own name is invalid by its index: `population[0].name`;
- an element of any other repeated field by its index from 0: `record.voltage[0].interval_ms`,
  `record.rate[1].neuron[1]`, `objective.energy.layers[1]`;
- a value given on the command line by its option: `(--duration-ms) run.duration_ms`.

For example:

```
t.pbtxt:3:15: population "E".lif_delta.tau_m_ms = -5: must be > 0 (ms)
t.pbtxt:3:36: record.voltage[0].interval_ms = 0.1: must be >= the resolution 1 (ms)
t.pbtxt: projection "A->B": no connectivity: expected one of all_to_all, one_to_one, fixed_probability, fixed_indegree, explicit
```
"""

TABLES = """\
## Reading the tables

One section per message and enum, in reading order: `Spec` first, then each type where it is first
used (depth-first). The columns:

- **field**: the name in the spec. A row `kind (oneof)` introduces a choice: give at most one of the
  fields marked `(in kind)` after it, e.g. `lif_delta { ... }`.
- **type**: the proto3 type, linked when it is a message or enum. `optional`: an absent field takes the
  stated default. `repeated`: a list. A field with neither reads as 0, "", false or the enum's first value
  when absent; a message field as an empty message.
- **unit**: from the field name's suffix ({units}); {none} where it has none (a count, an index,
  a name, a dimensionless number; the values of a `Distribution`, `Uniform` or `Normal` are in the unit
  of the field that holds it).
- **allowed / default**: what the loader accepts and what an absent field means, from the field's comment
  ("the resolution" is `run.resolution_ns`). An alternative of a oneof that is a message says "see" the
  oneof: its row says whether a choice is required, the message's own section what its fields take.
- **description**: the rest of the field's comment.
"""


def intro(p, proto_label, doc_label, example_label, example_text, units):
    gen = f"/usr/bin/python3 tools/gen_spec_doc.py {proto_label} {doc_label}"
    out = ["# The spikeem spec", "",
           f"<!-- Generated from {proto_label} by tools/gen_spec_doc.py: do not edit. Edit the comments in",
           f"     {proto_label} and regenerate with `{gen}`; ctest spec_doc fails while this file is stale. -->",
           ""]
    head = prose(p.header.leading)
    if head:
        out += [head, ""]
    out += [INTRO]
    if example_text is not None:
        out += ["## Example", "", f"`{example_label}`:", "", "```", example_text.rstrip("\n"), "```", ""]
    out += [TABLES.replace("{units}", units).replace("{none}", NO_UNIT)]
    return out


def generate(proto_text, proto_label, doc_label, example=None, origin=None):
    """(the document, the warnings).  example: (label, text) or None."""
    p = parse_proto(proto_text, origin or proto_label)
    order = reading_order(p.types)
    uses = used_in(order)
    ex_label, ex_text = example if example else (None, None)
    names = [f.name for d in order if d.kind == "message" for f in fields_of(d)]
    units = ", ".join(f"`_{'_'.join(sx)}` {u}" for sx, u in UNITS if any(suffix_of(n) == sx for n in names))
    out = intro(p, proto_label, doc_label, ex_label, ex_text, units)
    out += ["## Contents", ""]
    out += [f"- {link(d)} ({d.kind})" for d in order] + [""]
    for d in order:
        out += message_section(d, uses)
    return "\n".join(out).rstrip("\n") + "\n", warnings_of(order, origin or proto_label)


def generate_from_files(proto_path, doc_path):
    with open(proto_path, encoding="utf-8") as f:
        text = f.read()
    root = os.path.dirname(os.path.dirname(os.path.abspath(proto_path)))
    with open(os.path.join(root, EXAMPLE), encoding="utf-8") as f:
        example = (EXAMPLE, f.read())
    return generate(text, short_path(proto_path), short_path(doc_path), example, origin=proto_path)


def first_difference(expected, found):
    """A one-line description of where two texts first differ."""
    a, b = expected.split("\n"), found.split("\n")
    for k in range(max(len(a), len(b))):
        x = a[k] if k < len(a) else "<end of file>"
        y = b[k] if k < len(b) else "<end of file>"
        if x != y:
            return f"line {k + 1}: expected {x[:60]!r}, found {y[:60]!r}"
    return "no difference"


# ---- self-test and command line

SELF_TEST_PROTO = """\
// File comment.
syntax = "proto3";

package t;

// The top message.
//   an indented formula
message Top {
  string name = 1;                 // a label; default empty
  optional double tau_ms = 2;      // > 0; default 10
  repeated uint32 ids = 3;         // each < 100 (neuron index)
  // The choice.
  oneof kind {                     // required
    Inner inner = 10;              // the inner one
    double rate_hz_per_s = 11;     // in [0, 1]
  }
  Mode mode = 4;                   // what to do; default A
  double drive_mV_per_ms = 5;      // a ramp
                                   // continued here (>= 0)
  double gain = 6;
  repeated Probe probe = 7;        // at most 3
}

// ---- detached

message Inner { double p_per_mV = 1; }   // must be finite.  Slope of it.
message Empty {}

enum Mode {
  A = 0;   // the first
  // the second
  B = 1;
}

message Probe {
  enum Readout { COUNT = 0; }
  Readout readout = 1;  // The readout; default COUNT.  Read at t.
}
"""

SELF_TEST_ROWS = {
    "Top": [
        ("name", "string", NO_UNIT, "default empty", "a label"),
        ("tau_ms", "optional double", "ms", "> 0; default 10", ""),
        ("ids", "repeated uint32", NO_UNIT, "each < 100 (neuron index)", ""),
        ("kind (oneof)", "oneof", NO_UNIT, "one of: inner, rate_hz_per_s; required", "The choice."),
        ("inner (in kind)", "Inner", NO_UNIT, "see `kind`", "the inner one"),
        ("rate_hz_per_s (in kind)", "double", "Hz/s", "in [0, 1]", ""),
        ("mode", "Mode", NO_UNIT, "default A", "what to do"),
        ("drive_mV_per_ms", "double", "mV/ms", ">= 0", "a ramp continued here"),
        ("gain", "double", NO_UNIT, "", ""),
        ("probe", "repeated Probe", NO_UNIT, "at most 3", ""),
    ],
    "Inner": [("p_per_mV", "double", "1/mV", "must be finite", "Slope of it.")],
    "Empty": [],
    "Probe": [("readout", "Probe.Readout", NO_UNIT, "default COUNT", "The readout. Read at t.")],
}


def self_test():
    """The parser on SELF_TEST_PROTO: rows, comment attachment, reading order, warnings, units, --check."""
    p = parse_proto(SELF_TEST_PROTO, "self-test.proto")
    problems = []

    def expect(what, got, want):
        if got != want:
            problems.append(f"{what}: got {got!r}, expected {want!r}")
    for name, want in SELF_TEST_ROWS.items():
        expect(f"rows of {name}", [r.cells() for r in rows_of(p.types[name])], want)
    order = reading_order(p.types)
    expect("reading order", [d.full for d in order], ["Top", "Inner", "Mode", "Probe", "Probe.Readout", "Empty"])
    expect("file comment", p.header.leading, [" File comment."])
    expect("detached comment", p.types["Inner"].leading, [])
    expect("message prose", prose(p.types["Top"].leading), "The top message.\n\n```\nan indented formula\n```")
    expect("enum values", [(v.name, v.number, comment_text(v.leading + v.trailing)) for v in p.types["Mode"].items],
           [("A", 0, "the first"), ("B", 1, "the second")])
    expect("warnings", warnings_of(order, "t"), ["t:20: field Top.gain: no allowed range or default in its comment"])
    expect("units", [unit_of(n) for n in ("rate_slope_hz_per_s", "eta_mV_ms", "v_th_mV", "ms", "beta", "nudge_per_ms")],
           ["Hz/s", "mV ms", "mV", NO_UNIT, NO_UNIT, "1/ms"])
    expect("markdown", md("a|b *c* _{x}_ W_ij <d> `k_{y}|`"), "a\\|b \\*c\\* \\_{x}\\_ W_ij \\<d> `k_{y}|`")
    doc, _ = generate(SELF_TEST_PROTO, "t/t.proto", "t/t.md")
    edited, _ = generate(SELF_TEST_PROTO.replace("the inner one", "the inner two"), "t/t.proto", "t/t.md")
    expect("deterministic", generate(SELF_TEST_PROTO, "t/t.proto", "t/t.md")[0] == doc, True)
    expect("comment edit changes the document", first_difference(doc, edited).startswith("line "), True)
    expect("link to a nested enum", "[Probe.Readout](#probereadout)" in doc, True)
    for line in problems:
        print(line)
    print("gen_spec_doc self-test:", "passed" if not problems else f"FAILED ({len(problems)} problem(s))")
    return 0 if not problems else 1


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    check = "--check" in argv
    strict = "--strict" in argv
    args = [a for a in argv if a not in ("--check", "--strict")]
    if len(args) != 2 or any(a.startswith("--") for a in args) or (strict and not check):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    proto, doc_path = args
    try:
        doc, warnings = generate_from_files(proto, doc_path)
    except (ProtoError, OSError) as e:
        print(f"gen_spec_doc: {e}", file=sys.stderr)
        return 2
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    regenerate = f"{sys.executable} {os.path.abspath(sys.argv[0])} {proto} {doc_path}"
    if not check:
        with open(doc_path, "w", encoding="utf-8", newline="\n") as f:
            f.write(doc)
        print(f"gen_spec_doc: wrote {doc_path} ({len(warnings)} field(s) without a range or default)")
        return 0
    try:
        with open(doc_path, encoding="utf-8", newline="") as f:
            found = f.read()
    except OSError as e:
        found = ""
        print(f"gen_spec_doc: {e}", file=sys.stderr)
    if found != doc:
        print(f"{doc_path} is stale: it is not what {proto} generates ({first_difference(doc, found)}); "
              f"regenerate it with: {regenerate}")
        return 1
    if strict and warnings:
        print(f"{len(warnings)} field(s) of {proto} have no allowed range or default in their comment "
              "(listed above): state one there and regenerate")
        return 1
    print(f"{doc_path} is up to date with {proto}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
