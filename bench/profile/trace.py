# gdb script for bench/profile/run.sh: waits for FUNC to be hit (SKIP
# times first), then single-steps STEPS guest instructions, recording the
# function each one belongs to (inlined functions by their own name), and
# writes a per-function count and the sequence of functions to OUT.
import collections
import os

import gdb

func = os.environ["FUNC"]
skip = int(os.environ["SKIP"])
steps = int(os.environ["STEPS"])

gdb.execute("set pagination off")
gdb.execute("set confirm off")
# `symbol-file -o OFFSET KERNEL`: the kernel's symbols at their load address.
gdb.execute(os.environ["SYMBOLS"])
gdb.execute("target remote :" + os.environ["PORT"])
bp = gdb.Breakpoint(func)
bp.ignore_count = skip
gdb.execute("continue")
bp.delete()

counts = collections.Counter()
sequence = []
for _ in range(steps):
    frame = gdb.selected_frame()
    name = frame.name() or hex(frame.pc())
    counts[name] += 1
    if sequence and sequence[-1][0] == name:
        sequence[-1][1] += 1
    else:
        sequence.append([name, 1])
    gdb.execute("stepi", to_string=True)

with open(os.environ["OUT"], "w") as out:
    out.write(f"{steps} instructions from call {skip + 1} of {func} on\n\n")
    out.write("instructions per function (inlined ones by their own name):\n")
    for name, n in counts.most_common():
        out.write(f"{n:7d}  {name}\n")
    out.write("\nin order:\n")
    for name, n in sequence:
        out.write(f"{n:7d}  {name}\n")
gdb.execute("kill")
