"""Runs ``python -m argilla_server ...`` inside the server's own virtual environment, with one
compatibility shim for osmem-server, the in-memory search engine of ``kto argilla up``.

osmem-server does not run Elasticsearch's scripted updates ("update with script is not
supported"), which argilla-server uses for exactly three small edits of a record's document:
add or replace a response, remove a response, remove a suggestion. The shim makes those three
a read, an edit in Python and a write. Everything else goes to osmem-server unchanged.
It is not atomic, which is fine for a local server; on a Space, Argilla runs Elasticsearch.

The worker (``argilla_server worker``, an rq WorkerPool) forks its workers, and they fork a process
per job. On Linux each fork is told to die with its parent (PR_SET_PDEATHSIG): a kill -9 of the
worker takes its forks along instead of leaving them to init. Elsewhere, and for anything that
slips through, ``kto argilla up`` and ``down`` find them by their environment (kto.processes).

This file is executed by the server's interpreter, not imported by kto.
"""

import ctypes
import os
import re
import signal
import sys

from argilla_server.cli import app
from argilla_server.search_engine.opensearch import OpenSearchEngine

SCRIPTED_UPDATE = OpenSearchEngine._update_document_request


async def update_without_scripts(self, index_name: str, id: str, body: dict) -> None:
    script = body.get("script")
    if script is None:
        return await SCRIPTED_UPDATE(self, index_name, id, body)
    document = (await self.client.get(index=index_name, id=id))["_source"]
    if isinstance(script, str):  # ctx._source["suggestions"].remove("<question>")
        removal = re.fullmatch(r'ctx\._source\["suggestions"\]\.remove\("(.+)"\)', script)
        if removal is None:  # no other string script is known to Argilla 2.8
            return await SCRIPTED_UPDATE(self, index_name, id, body)
        question = removal.group(1)
        (document.get("suggestions") or {}).pop(question, None)
    else:  # remove the response with this id; add it back when the script adds it
        response = script["params"]["response"]
        responses = [kept for kept in document.get("responses") or [] if kept.get("id") != response["id"]]
        if "responses.add(params.response)" in script["source"]:
            responses.append(response)
        document["responses"] = responses
    await self.client.index(index=index_name, id=id, body=document, refresh=True)


OpenSearchEngine._update_document_request = update_without_scripts

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
forking_parent = 0


def die_with_the_parent() -> None:
    """In a forked child: SIGKILL when the parent dies (the kernel's signal, so a kill -9 of the
    parent counts too). The worker forks from its main thread, whose end is the process's end."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != forking_parent:  # the parent died before the line above took effect
        os._exit(1)


def remember_the_forking_parent() -> None:
    global forking_parent
    forking_parent = os.getpid()


if __name__ == "__main__":
    if sys.platform.startswith("linux") and sys.argv[1:2] == ["worker"]:
        os.register_at_fork(before=remember_the_forking_parent, after_in_child=die_with_the_parent)
    app()
