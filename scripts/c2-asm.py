#!/usr/bin/env python3
"""Disassembles what C2 compiled for a method, without the hsdis plugin the JDK needs to print assembly itself.

The JVM prints a compiled method's machine code as hex when it has no disassembler (`-XX:CompileCommand=print`);
this script collects those bytes and hands them to binutils' objdump. Kernel work needs it: whether a loop kept its
bounds checks, how far C2 unrolled it, which instruction a Vector API call became (Debian's libhsdis0-fcml plugin
exports the old `decode_instructions` entry point, which JDK 25 no longer calls, so it prints hex too).

    java ... -XX:+UnlockDiagnosticVMOptions -XX:CompileCommand=print,io.baton.engine.tensor.Gemm::tile4x3 ... > out.txt
    scripts/c2-asm.py out.txt            # the last C2 compilation in the file
    scripts/c2-asm.py out.txt 1          # the first one (an on-stack-replacement compile often comes first)

Needs objdump (binutils) and x86-64 code; prints Intel syntax with the addresses the JVM printed.
"""
import re
import subprocess
import sys
import tempfile

HEADER = 'C2-compiled nmethod'


def compilations(lines):
    return [i for i, line in enumerate(lines) if HEADER in line]


def machine_code(lines, start):
    """The bytes of the [MachCode] block after line `start`, and the address of the first one."""
    code, base, inside, title = bytearray(), None, False, ''
    for line in lines[start:]:
        if line.startswith('Compiled method'):
            title = line
        if '[MachCode]' in line:
            inside = True
            continue
        if '[/MachCode]' in line:
            break
        if not inside:
            continue
        m = re.match(r'\s+0x([0-9a-f]+): (.*)$', line)
        if not m or m.group(2).startswith(';'):  # comments such as "{runtime_call ...}" carry no bytes
            continue
        if base is None:
            base = int(m.group(1), 16)
        code += bytes.fromhex(re.sub(r'[^0-9a-f]', '', m.group(2)))
    return title, base, bytes(code)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    lines = open(sys.argv[1], errors='replace').read().split('\n')
    found = compilations(lines)
    if not found:
        sys.exit('no C2 compilation in ' + sys.argv[1] + ' (did the method reach C2? is -XX:CompileCommand=print set?)')
    n = int(sys.argv[2]) if len(sys.argv) > 2 else len(found)
    if not 1 <= n <= len(found):
        sys.exit('%s has %d C2 compilations; asked for number %d' % (sys.argv[1], len(found), n))
    title, base, code = machine_code(lines, found[n - 1])
    if not code:
        sys.exit('compilation %d has no [MachCode] bytes (was it printed with a disassembler after all?)' % n)
    print(title)
    with tempfile.NamedTemporaryFile(suffix='.bin') as f:
        f.write(code)
        f.flush()
        out = subprocess.run(['objdump', '-D', '-b', 'binary', '-m', 'i386:x86-64', '-M', 'intel',
                              '--adjust-vma=%d' % base, f.name], capture_output=True, text=True, check=True)
    print(out.stdout)


if __name__ == '__main__':
    try:
        main()
    except BrokenPipeError:  # piped into head
        pass
