"""The kernel manager `make demo` gives Voila for a room: at most ``max_kernels`` live kernels.

Every browser that opens a demo page gets a kernel of its own (about 150 MB each); a room of
students opening the lecturer's address would otherwise start kernels until the machine runs out
of memory. Past the cap a new page gets HTTP 503 with a message saying why and what to do, and
the pages already open keep working. Idle kernels, including those of closed pages, are shut
down by the culler `make demo` turns on (``nnlab.demo.ROOM_DEFAULTS``), which frees their places.

Voila loads this class by name (``--VoilaConfiguration.multi_kernel_manager_class``); it is not
imported by ``import nnlab``.
"""

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer


class CappedKernelManager(AsyncMappingKernelManager):
    """Voila's usual kernel manager, refusing a new kernel once ``max_kernels`` are running."""

    max_kernels = Integer(40, config=True,
                          help="Most kernels (open demo pages) at once; 0 means no cap.")

    async def start_kernel(self, *args, **kwargs):
        running = len(self.list_kernel_ids())
        if self.max_kernels and running >= self.max_kernels:
            raise web.HTTPError(
                503, reason=f"The demo is full: {running} pages are open, the most this machine "
                            f"was set to serve (--CappedKernelManager.max_kernels="
                            f"{self.max_kernels}). Close a page, or try again in a few minutes: "
                            "pages left idle are closed after a while.")
        return await super().start_kernel(*args, **kwargs)
