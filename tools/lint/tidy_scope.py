#!/usr/bin/env python3
"""Which sources clang-tidy must check: those whose translation unit depends
on a file changed since BASE (a commit whose tree was clang-tidy clean).

  tidy_scope.py BUILD_DIR BASE FILE...

Prints, one per line, each FILE (absolute paths from BUILD_DIR's
compile_commands.json) whose source or project headers (the compiler's -MM
list) changed between BASE and the work tree. Prints every FILE when a change
can affect every file (.clang-tidy, the CMake build) or when
BASE is not an ancestor of HEAD. Exits non-zero if a dependency list cannot be
made (the caller then checks every file).
"""

import concurrent.futures
import json
import os
import shlex
import subprocess
import sys

# A change to one of these can change any file's findings (flags, checks).
EVERYTHING = (".clang-tidy", "CMakeLists.txt", "cmake/")


def changed_since(base):
    if subprocess.run(["git", "merge-base", "--is-ancestor", base, "HEAD"],
                      capture_output=True).returncode != 0:
        return None
    out = subprocess.run(["git", "diff", "--name-only", base, "--"],
                         capture_output=True, text=True, check=True).stdout
    untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"],
                               capture_output=True, text=True, check=True).stdout
    return set(out.split()) | set(untracked.split())


def dependencies(entry, root):
    """The repository-relative paths of entry's source and project headers."""
    args = entry.get("arguments") or shlex.split(entry["command"])
    cmd = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD"):
            continue
        cmd.append(a)
    cmd += ["-MM", "-MF", "/dev/stdout"]
    out = subprocess.run(cmd, cwd=entry["directory"], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{entry['file']}: {out.stderr.strip()[:300]}")
    deps = set()
    for word in out.stdout.replace("\\\n", " ").split()[1:]:
        path = os.path.realpath(os.path.join(entry["directory"], word))
        if path.startswith(root + os.sep):
            deps.add(os.path.relpath(path, root))
    return deps


def main():
    build, base, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    root = os.path.realpath(os.getcwd())
    changed = changed_since(base)
    if changed is None or any(c == e or c.startswith(e) or c.endswith("/" + e)
                              for c in changed for e in EVERYTHING):
        print("\n".join(files))
        return 0
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = {e["file"]: e for e in json.load(f)}
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        deps = dict(zip(files, pool.map(lambda f: dependencies(entries[f], root), files)))
    print("\n".join(f for f in files if deps[f] & changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
