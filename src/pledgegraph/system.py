"""The operating system's calls Python's standard library lacks (Linux, through ctypes), in one place.

Each call says what happens where the platform cannot do it (another OS, another machine, a
container that forbids it): it returns False or does nothing, and its caller decides what that
costs. Nothing else in the package loads libc.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import signal
import struct
from pathlib import Path

_PR_SET_PDEATHSIG, _PR_SET_SECCOMP, _PR_SET_NO_NEW_PRIVS = 1, 22, 38
_SECCOMP_MODE_FILTER = 2
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _libc():
    """The C library of this process, or None where there is none to load."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process (SIGKILL) when its parent dies (PR_SET_PDEATHSIG), and exit
    now if `parent` is already gone; where prctl is missing only the second half holds."""
    libc = _libc()
    if libc is not None and hasattr(libc, "prctl"):
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def return_freed_memory() -> None:
    """Give the heap pages Python freed back to the system (glibc's malloc_trim; glibc keeps them
    otherwise); nothing where the C library has no such call."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (renameat2 RENAME_EXCHANGE); False where the system or the
    filesystem cannot, OSError on any other failure."""
    libc = _libc()
    renameat2 = getattr(libc, "renameat2", None) if libc is not None else None
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # the filesystem cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def address_space_mb() -> int:
    """This process's address space now (VmSize, what RLIMIT_AS bounds), in MiB; 0 where /proc cannot say."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)


def limit_memory(megabytes: int, *, for_good: bool = False) -> None:
    """Cap this process's address space: the soft limit (within the hard one), or with `for_good`
    both, so nothing running in the process can raise it again (query workers)."""
    limit = megabytes * 1024 * 1024
    if for_good:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


# (audit architecture, socket(2) syscall number) per machine; io_uring_setup is 425 on both
_SECCOMP_ARCH = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
_IO_URING_SETUP, _IO_URING_REGISTER = 425, 427
_X32_SYSCALL_BIT = 0x40000000
_AF_UNIX = 1


def forbid_network() -> bool:
    """Make socket(2) fail with EACCES for every family but AF_UNIX, and io_uring (which can open
    and connect sockets without socket(2)) fail with ENOSYS, in this process, for good.

    A seccomp filter: the kernel refuses the call, whatever library makes it. Returns False
    where seccomp is unavailable (other OS or machine, or a container that forbids it)."""
    arch = _SECCOMP_ARCH.get(platform.machine())
    if arch is None or platform.system() != "Linux":
        return False
    audit_arch, socket_nr = arch

    def op(code, jt, jf, k):
        return struct.pack("HBBI", code, jt, jf, k)

    load, jump_eq, jump_ge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    deny_socket, deny_uring, allow = 0x00050000 | errno.EACCES, 0x00050000 | errno.ENOSYS, 0x7FFF0000
    program = b"".join(
        [
            op(load, 0, 0, 4),  # 0: seccomp_data.arch
            op(jump_eq, 0, 8, audit_arch),  # 1: another ABI (i386, ...): ENOSYS (10)
            op(load, 0, 0, 0),  # 2: seccomp_data.nr
            op(jump_ge, 6, 0, _X32_SYSCALL_BIT),  # 3: an x32 call: ENOSYS (10)
            op(jump_eq, 0, 3, socket_nr),  # 4: socket(2)? else to 8
            op(load, 0, 0, 16),  # 5: args[0]: the address family
            op(jump_eq, 4, 0, _AF_UNIX),  # 6: AF_UNIX: allow (11)
            op(ret, 0, 0, deny_socket),  # 7
            op(jump_ge, 0, 2, _IO_URING_SETUP),  # 8: below io_uring_setup: allow (11)
            op(jump_ge, 1, 0, _IO_URING_REGISTER + 1),  # 9: past io_uring_register: allow (11)
            op(ret, 0, 0, deny_uring),  # 10: io_uring_setup / enter / register, other ABIs
            op(ret, 0, 0, allow),  # 11
        ]
    )

    class _Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(program)
    prog = _Program(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = _libc()
    if libc is None or libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
