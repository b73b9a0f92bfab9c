#!/usr/bin/env python3
"""Build the robot .deb with dpkg-deb from runtime/Cargo.toml's
[package.metadata.deb] table, the same table `cargo deb` reads, so the file
list has one source. Used by packaging/build-deb.sh when cargo-deb is not
installed, or when packaging a binary built elsewhere (--binary, as CI does).

Supports the subset of cargo-deb's keys that table uses: name, maintainer,
copyright, extended-description, section, priority, depends, recommends,
maintainer-scripts (config, templates, preinst, postinst, prerm, postrm),
conf-files, and assets (globs allowed; a destination ending in "/" is a
folder; a source under target/release/ is the build's binary).
Standard library only.
"""

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7": "armhf", "arm": "armhf", "riscv64gc": "riscv64"}
SCRIPTS = ["config", "templates", "preinst", "postinst", "prerm", "postrm"]


def fail(msg):
    print(f"deb_from_metadata: {msg}", file=sys.stderr)
    sys.exit(1)


def package_metadata(manifest):
    out = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--manifest-path", manifest],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    manifest = os.path.realpath(manifest)
    for p in json.loads(out)["packages"]:
        if os.path.realpath(p["manifest_path"]) == manifest:
            return p
    fail(f"no package for {manifest}")


def deb_arch(target):
    if target:
        return ARCH.get(target.split("-")[0]) or fail(f"no Debian architecture for {target}")
    return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True, text=True).stdout.strip()


def strip(path, target):
    """Strips symbols with the target's strip, if there is one."""
    host = os.uname().machine
    cross = bool(target) and not target.startswith(host)
    tools = [f"{target.replace('-unknown', '')}-strip"] if cross else ["strip"]
    for tool in tools:
        if shutil.which(tool):
            subprocess.run([tool, "--strip-all", path], check=True)
            return tool
    print(f"deb_from_metadata: no strip for {target or 'the host'}; the binary stays as built", file=sys.stderr)
    return None


def stage_assets(deb, crate_dir, root, binary):
    conffiles = [c if c.startswith("/") else "/" + c for c in deb.get("conf-files", [])]
    staged = []
    for src, dest, mode in deb["assets"]:
        if src.startswith("target/release/") or src.startswith("target/debug/"):
            sources = [binary]
        else:
            sources = sorted(glob.glob(os.path.join(crate_dir, src)))
            if not sources:
                fail(f"asset {src} matches no file")
        for s in sources:
            d = dest + os.path.basename(s) if dest.endswith("/") else dest
            out = os.path.join(root, d.lstrip("/"))
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copyfile(s, out)
            os.chmod(out, int(mode, 8))
            staged.append(d.lstrip("/"))
            if d.startswith("etc/") and "/" + d not in conffiles:
                conffiles.append("/" + d)
    return staged, conffiles


def installed_size_kib(root):
    total = 0
    for dirpath, _, files in os.walk(root):
        if "DEBIAN" in dirpath.split(os.sep):
            continue
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return (total + 1023) // 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", default="runtime/Cargo.toml")
    ap.add_argument("--binary", required=True, help="the robot binary to package")
    ap.add_argument("--target", default="", help="Rust target triple (default: the host)")
    ap.add_argument("--out", default=".", help="folder for the .deb")
    ap.add_argument("--compress", default="xz", choices=["xz", "gzip", "zstd", "none"])
    a = ap.parse_args()

    pkg = package_metadata(a.manifest)
    deb = (pkg.get("metadata") or {}).get("deb") or fail("no [package.metadata.deb] table")
    crate_dir = os.path.dirname(os.path.realpath(a.manifest))
    name = deb.get("name", pkg["name"])
    version = pkg["version"] + "-1"
    arch = deb_arch(a.target)

    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "DEBIAN"))
        staged, conffiles = stage_assets(deb, crate_dir, root, a.binary)
        for f in staged:
            if f.startswith("usr/bin/"):
                strip(os.path.join(root, f), a.target)
        doc = os.path.join(root, "usr/share/doc", name)
        os.makedirs(doc, exist_ok=True)
        with open(os.path.join(doc, "copyright"), "w") as f:
            f.write(
                "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                f"Upstream-Name: {name}\nSource: {pkg.get('repository') or ''}\n\n"
                f"Files: *\nCopyright: {deb.get('copyright', '')}\nLicense: {pkg.get('license') or ''}\n"
            )

        scripts = os.path.join(crate_dir, deb["maintainer-scripts"])
        for s in SCRIPTS:
            p = os.path.join(scripts, s)
            if os.path.exists(p):
                shutil.copyfile(p, os.path.join(root, "DEBIAN", s))
                os.chmod(os.path.join(root, "DEBIAN", s), 0o644 if s == "templates" else 0o755)
        if conffiles:
            with open(os.path.join(root, "DEBIAN/conffiles"), "w") as f:
                f.write("".join(c + "\n" for c in conffiles))

        summary = (pkg.get("description") or name).split(". ")[0].rstrip(".")
        extended = deb.get("extended-description", "").strip()
        body = "\n".join(" " + (line if line.strip() else ".") for line in extended.splitlines())
        fields = [
            ("Package", name),
            ("Version", version),
            ("Architecture", arch),
            ("Maintainer", deb["maintainer"]),
            ("Installed-Size", str(installed_size_kib(root))),
            ("Depends", deb.get("depends", "")),
            ("Recommends", deb.get("recommends", "")),
            ("Section", deb.get("section", "misc")),
            ("Priority", deb.get("priority", "optional")),
            ("Homepage", pkg.get("repository") or ""),
            ("Description", summary + ("\n" + body if body else "")),
        ]
        with open(os.path.join(root, "DEBIAN/control"), "w") as f:
            f.write("".join(f"{k}: {v}\n" for k, v in fields if v))

        sums = []
        for dirpath, _, files in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            if rel.split(os.sep)[0] == "DEBIAN":
                continue
            for fn in sorted(files):
                p = os.path.join(dirpath, fn)
                if os.path.islink(p):
                    continue
                with open(p, "rb") as fh:
                    sums.append(f"{hashlib.md5(fh.read()).hexdigest()}  {os.path.join(rel, fn)}\n")
        with open(os.path.join(root, "DEBIAN/md5sums"), "w") as f:
            f.writelines(sorted(sums))

        os.makedirs(a.out, exist_ok=True)
        out = os.path.join(a.out, f"{name}_{version}_{arch}.deb")
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", f"-Z{a.compress}", "--build", root, out],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(out)


if __name__ == "__main__":
    main()
