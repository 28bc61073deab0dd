#!/usr/bin/env python3
"""Compare a backup's manifest with a listing of the data directory.

manifest_check.py MANIFEST DATADIR [--extra-dir DIR]... [--ignore REGEX]...

Lists the files a full backup must hold (ibdata*, undo*, every .ibd, the
non-InnoDB files mariabackup copies: .frm .MYD .MYI .MAD .MAI .CSV .CSM .par
.opt .TRG .TRN .isl .ARM .ARZ .MRG, aria_log*), with the kind each must have,
and prints every difference with the manifest. DATA DIRECTORY tablespaces in
--extra-dir are expected under their absolute path. Exit 1 on a difference.
"""
import argparse
import json
import os
import re
import sys

OTHER = (".frm", ".isl", ".MYD", ".MYI", ".MAD", ".MAI", ".MRG", ".TRG", ".TRN",
         ".ARM", ".ARZ", ".CSM", ".CSV", ".opt", ".par")


def expected_files(datadir, extra_dirs, ignore):
    want = {}
    for name in os.listdir(datadir):
        path = os.path.join(datadir, name)
        if os.path.isfile(path):
            if re.fullmatch(r"ibdata\d+", name):
                want[name] = "system"
            elif re.fullmatch(r"undo\d{3}", name):
                want[name] = "undo"
            elif re.fullmatch(r"aria_log\.\d{8}|aria_log_control", name):
                want[name] = "other"
        elif os.path.isdir(path) and not name.startswith((".", "#")) and name != "lost+found":
            for f in os.listdir(path):
                if f.startswith("#sql") or not os.path.isfile(os.path.join(path, f)):
                    continue
                if f.endswith(".ibd"):
                    want[name + "/" + f] = "ibd"
                elif f.endswith(OTHER):
                    want[name + "/" + f] = "other"
    for d in extra_dirs:
        for root, _, files in os.walk(d):
            for f in files:
                if f.endswith(".ibd") and not f.startswith("#sql"):
                    want[os.path.join(os.path.abspath(root), f)] = "ibd"
    return {k: v for k, v in want.items() if not any(re.search(r, k) for r in ignore)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest")
    ap.add_argument("datadir")
    ap.add_argument("--extra-dir", action="append", default=[])
    ap.add_argument("--ignore", action="append", default=[])
    a = ap.parse_args()
    with open(a.manifest, encoding="utf-8") as fh:
        m = json.load(fh)
    have = {f["name"]: f["kind"] for f in m["files"]}
    want = expected_files(a.datadir, a.extra_dir, a.ignore)
    bad = 0
    for name in sorted(set(want) - set(have)):
        print(f"missing from the manifest: {name} ({want[name]})")
        bad += 1
    for name in sorted(set(have) - set(want)):
        if any(re.search(r, name) for r in a.ignore):
            continue
        print(f"in the manifest but not in the datadir: {name} ({have[name]})")
        bad += 1
    for name in sorted(set(have) & set(want)):
        if have[name] != want[name]:
            print(f"wrong kind: {name} is {have[name]} in the manifest, want {want[name]}")
            bad += 1
    print(f"manifest {m['id']}: {len(have)} files, datadir listing: {len(want)} files, "
          f"{bad} difference(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
