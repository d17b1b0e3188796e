"""Runs ``python -m argilla_server ...`` inside the server's own virtual environment, with one
compatibility shim for osmem-server, the in-memory search engine of ``kto argilla up``.

osmem-server does not run Elasticsearch's scripted updates ("update with script is not
supported"), which argilla-server uses for exactly three small edits of a record's document:
add or replace a response, remove a response, remove a suggestion. The shim makes those three
a read, an edit in Python and a write. Everything else goes to osmem-server unchanged.
It is not atomic, which is fine for a local server; on a Space, Argilla runs Elasticsearch.

This file is executed by the server's interpreter, not imported by kto.
"""

import re

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

if __name__ == "__main__":
    app()
