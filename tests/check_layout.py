#!/usr/bin/env python3
"""Checks two rules of spikeem's layout (see ARCHITECTURE.md) and exits 1 on a breach.

1. Floors: sim/ < plasticity/ < network/ < experiments/ < io/ < python/.  A file may
   include project headers of its own floor and of the floors below it only.
2. Function length: no function body outside tests/ longer than MAX_LINES
   lines (from the line of its opening brace to the line of its closing one).

Usage: check_layout.py [ROOT]   (default: the folder above this script)
       check_layout.py --self-test  (the checker finds breaches it is shown)
"""
import os
import re
import sys

FLOORS = ["sim", "plasticity", "network", "experiments", "io", "python"]
MAX_LINES = 100
SOURCES = (".hpp", ".cpp", ".h", ".cc")
# Folders whose code is held to the function-length rule.
LENGTH_DIRS = FLOORS + ["examples"]
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"/]+)/')
NOT_FUNCTION = re.compile(r"^\s*(namespace|class|struct|union|enum|extern|if|else|for|while|switch|do|try|catch)\b")


def strip_code(text):
    """Blank out comments, string and character literals (keeping newlines)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c == "R" and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j += 1
            if c == "'" and j - i > 4 and text[i - 1:i].isalnum():  # digit separator 1'000
                out.append(c); i += 1; continue
            out.append(c + " " * (j - i - 2) + c); i = j
        else:
            out.append(c); i += 1
    return "".join(out)


def long_functions(path):
    code = strip_code(open(path, encoding="utf-8").read())
    # Each open brace: is it a function body (at a level that holds no function)?
    stack, found, head, line = [], [], "", 1
    for c in code:
        if c == "\n":
            line += 1
        if c == "{":
            inside = any(kind == "fn" for kind, _ in stack)
            h = re.sub(r"\s+", " ", head).strip()
            is_fn = (not inside and "(" in h and not NOT_FUNCTION.match(h) and not h.endswith("=")
                     and not re.search(r"\b(class|struct|enum|namespace)\b[^()]*$", h))
            stack.append(("fn" if is_fn else ("in" if inside else "scope"), line))
            head = ""
        elif c == "}":
            if stack:
                kind, start = stack.pop()
                if kind == "fn" and line - start + 1 > MAX_LINES:
                    found.append((start, line - start + 1))
            head = ""
        elif c == ";":
            head = ""
        else:
            head += c
    return found


def self_test():
    """A tree with one upward include and one long function, next to allowed
    code (a long class, a long lambda-free initializer, strings with braces):
    exactly those two must be found."""
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "sim"))
        os.makedirs(os.path.join(root, "io"))
        with open(os.path.join(root, "sim", "a.hpp"), "w") as f:
            f.write('#include "network/x.hpp"\n#include "sim/b.hpp"\n')
            f.write("struct S {\n" + "    int x;\n" * 150 + "};\n")
            f.write('const char* s = "{{{";\n')
            f.write("int long_one(int a) {\n" + "    a += 1;\n" * 101 + "    return a;\n}\n")
            f.write("int short_one(int a) {\n" + "    a += 1;\n" * 97 + "    return a;\n}\n")
        with open(os.path.join(root, "io", "b.cpp"), "w") as f:
            f.write('#include "network/x.hpp"\n#include "sim/a.hpp"\n')
        found = check(root)
    expected = ["sim/a.hpp:1: sim/ includes network/ (a higher floor)",
                "sim/a.hpp:156: function body of 104 lines (at most 100)"]
    print("\n".join(found))
    ok = sorted(found) == sorted(expected)
    print("check_layout self-test:", "passed" if ok else f"FAILED, expected {expected}")
    return 0 if ok else 1


def check(root):
    problems = []
    for d in set(FLOORS + LENGTH_DIRS):
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in sorted(files):
                if not f.endswith(SOURCES):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                if d in FLOORS:
                    allowed = FLOORS[: FLOORS.index(d) + 1]
                    for k, text in enumerate(open(path, encoding="utf-8"), 1):
                        m = INCLUDE.match(text)
                        if m and m.group(1) in FLOORS and m.group(1) not in allowed:
                            problems.append(f"{rel}:{k}: {d}/ includes {m.group(1)}/ (a higher floor)")
                for start, length in long_functions(path):
                    problems.append(f"{rel}:{start}: function body of {length} lines (at most {MAX_LINES})")
    return sorted(problems)


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    problems = check(root)
    for p in problems:
        print(p)
    print(f"check_layout: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
