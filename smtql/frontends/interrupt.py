"""Ctrl-C stops the store's running statement at once.

Python runs its SIGINT handler (the KeyboardInterrupt) in the main thread,
between bytecodes: while a driver waits in C for SQLite or a server, that
is only when the statement is over. So while a program runs, a watcher
thread reads the signal from `signal.set_wakeup_fd` (written by the C
handler as the signal arrives) and asks the store to stop the statement
(`Store.interrupt()`); the driver then returns, and the KeyboardInterrupt
follows in the main thread as usual. Reads only: an interrupted read
leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading


@contextlib.contextmanager
def stopping_statements(store):
    """While the body runs, Ctrl-C also stops `store`'s running statement.
    Nothing is watched off the main thread, where SIGINT is not Python's
    to handle (an embedding program's own handler is left alone), or on
    Windows (whose wakeup fd must be a socket): there Ctrl-C waits for the
    statement to end, as before."""
    if (os.name == "nt" or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    read, write = os.pipe()
    os.set_blocking(write, False)  # set_wakeup_fd demands it
    done = os.pipe()
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    watcher = threading.Thread(target=_watch, args=(read, done[0], store), daemon=True,
                               name="smtql-interrupt")
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.write(done[1], b"x")
        watcher.join()
        for fd in (read, write, *done):
            os.close(fd)


def _watch(read: int, done: int, store) -> None:
    """Stop the store's statement on each Ctrl-C until told the body is
    done. The signal is read before the end is heeded: with a driver that
    waits in Python (PyMySQL), the KeyboardInterrupt can end the body before
    this thread has woken, and the statement must still be stopped and the
    connection, left in the middle of a reply, marked for replacing."""
    while True:
        ready, _, _ = select.select([read, done], [], [])
        if read in ready and signal.SIGINT in os.read(read, 512):
            try:
                store.interrupt()
            except Exception:  # noqa: BLE001 - the KeyboardInterrupt comes anyway
                pass
        if done in ready:
            return
