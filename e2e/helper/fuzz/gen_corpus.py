#!/usr/bin/python3
"""Write the seed corpus of fuzz_server: the differential test's
transcripts (../proxydiff.py), each as one input and each of its
requests as an input of its own."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import proxydiff  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(out, exist_ok=True)
n = 0
for name, steps in proxydiff.TRANSCRIPTS.items():
    # long transcripts stay whole inputs only if small enough for -max_len
    whole = b"".join(step[1] for step in steps)
    if len(whole) <= 16384:
        with open(os.path.join(out, "%s.bin" % name), "wb") as f:
            f.write(whole)
        n += 1
    for i, step in enumerate(steps):
        if len(step[1]) > 16384:
            continue
        with open(os.path.join(out, "%s-%02d.bin" % (name, i)), "wb") as f:
            f.write(step[1])
        n += 1
print("wrote %d seeds to %s" % (n, out))
