"""Constants shared by the runtime and the engine, in a module that imports nothing."""

#: Docker's PATH for a process whose environment sets none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
