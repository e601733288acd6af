"""Runs a command on a pseudo-terminal of 80 columns, as a user's shell would, and types
Ctrl-C once TRIGGER (an environment variable) appears in its output.

Usage: on_a_pty.py PROGRAM ARGS...   (TRIGGER='text' in the environment)
Prints what the terminal received on stdout (UTF-8) and, on stderr, "exit N" with the exit
status as a shell reports it (128 + the signal's number for a process a signal ended).
The Ctrl-C goes through the terminal's line discipline, which sends SIGINT to the foreground
process group, exactly as a key press does; nothing here signals the process directly.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

args = sys.argv[1:]
trigger = os.environ.get("TRIGGER", "").encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(args[0], args)
# 24 rows, 80 columns.
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
out = b""
typed = False
deadline = time.time() + 300
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.02)
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    if trigger and not typed and trigger in out:
        os.write(fd, b"\x03")
        typed = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", errors="replace"))
sys.stdout.flush()
sys.stderr.write("exit %d\n" % os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
                 else "exit %d\n" % (128 + os.WTERMSIG(status)))
