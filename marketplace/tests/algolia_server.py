"""A tiny local server answering like Algolia's REST API, for the calls the SDK makes for us.

Checks the application id and API key headers (403 otherwise; the search-only key may only
read), and implements: batch (addObject/updateObject/deleteObject), get/set settings (with
replicas that share the primary's records and sort by their first ranking criterion), task
status (always published), copy/move/delete index, and searches — single, multi-query (hits and
facet-value queries) and facet-value search — with a small matcher: every query word is a
substring of a searchable attribute; facetFilters (AND of ORs), numericFilters, facet counts,
page/hitsPerPage/nbHits/nbPages capped by paginationLimitedTo.

`mode` switches failures on: "ok", "error" (500 on every call) or "hang" (answer nothing
until `release()`, so the client times out). Every request is recorded in `requests`.
"""

import contextlib
import json
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

APP_ID = "THREADLYTEST"
ADMIN_KEY = "admin-key-test"
SEARCH_KEY = "search-key-test"
NUMERIC = re.compile(r"^\s*([\w.]+)\s*(<=|>=|!=|=|<|>)\s*(-?[\d.]+)\s*$")


class FakeAlgolia:
    def __init__(self) -> None:
        self.indexes: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.mode = "ok"
        self._released = threading.Event()
        self._task = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _answer(self, method: str) -> None:
                server.handle(self, method)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def do_PUT(self) -> None:
                self._answer("PUT")

            def do_DELETE(self) -> None:
                self._answer("DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = f"http://127.0.0.1:{self.port}"

    # --- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> "FakeAlgolia":
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()

    def release(self) -> None:
        """Let hung requests finish (they then answer 500)."""
        self._released.set()

    # --- helpers for tests --------------------------------------------------------------------

    def records(self, index: str) -> dict[str, dict]:
        return self._index(index)["records"]

    def settings(self, index: str) -> dict:
        return self._index(index)["settings"]

    def calls(self, path_part: str) -> list[dict]:
        return [r for r in self.requests if path_part in r["path"]]

    # --- the API ------------------------------------------------------------------------------

    def _index(self, name: str) -> dict:
        return self.indexes.setdefault(name, {"records": {}, "settings": {}, "primary": None})

    def _next_task(self) -> int:
        self._task += 1
        return self._task

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        path = unquote(parts.path)
        body = json.loads(raw) if raw else {}
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.requests.append({"method": method, "path": path, "body": body, "query": query})
        if self.mode == "hang":
            self._released.wait(timeout=30)
            return self._send(handler, 500, {"message": "hung", "status": 500})
        if self.mode == "error":
            return self._send(handler, 500, {"message": "Internal error", "status": 500})
        key = handler.headers.get("x-algolia-api-key")
        if handler.headers.get("x-algolia-application-id") != APP_ID or key not in {
            ADMIN_KEY,
            SEARCH_KEY,
        }:
            return self._send(
                handler, 403, {"message": "Invalid Application-ID or API key", "status": 403}
            )
        read_only = path.endswith("/queries") or path.endswith("/query")
        if key == SEARCH_KEY and not read_only:
            return self._send(handler, 403, {"message": "Method not allowed with this API key"})
        with self._lock:
            status, answer = self._route(method, path, body)
        self._send(handler, status, answer)

    def _send(self, handler: BaseHTTPRequestHandler, status: int, answer: dict) -> None:
        data = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client timed out
            handler.wfile.write(data)

    def _route(self, method: str, path: str, body: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/1/indexes/*/queries":
            if missing := {r["indexName"] for r in body["requests"]} - set(self.indexes):
                return 404, {"message": f"Index {missing.pop()} does not exist", "status": 404}
            return 200, {"results": [self._search(r["indexName"], r) for r in body["requests"]]}
        match = re.fullmatch(r"/1/indexes/([^/]+)(/.*)?", path)
        if not match:
            return 404, {"message": f"no route {method} {path}", "status": 404}
        name, rest = match.group(1), match.group(2) or ""
        now = "2026-01-01T00:00:00.000Z"
        if method == "POST" and rest == "/batch":
            records = self._index(name)["records"]
            ids = []
            for request in body["requests"]:
                record = request["body"]
                ids.append(record["objectID"])
                if request["action"] in {"addObject", "updateObject"}:
                    records[record["objectID"]] = record
                elif request["action"] == "deleteObject":
                    records.pop(record["objectID"], None)
                else:
                    return 400, {"message": f"unknown action {request['action']}", "status": 400}
            return 200, {"taskID": self._next_task(), "objectIDs": ids}
        if method == "GET" and re.fullmatch(r"/task/(\d+)", rest):
            return 200, {"status": "published", "pendingTask": False}
        if rest == "/settings":
            if method == "GET":
                if name not in self.indexes:
                    return 404, {"message": "Index does not exist", "status": 404}
                return 200, self.indexes[name]["settings"]
            settings = self._index(name)["settings"]
            settings.update(body)
            for replica in body.get("replicas", []):
                self._index(replica)["primary"] = name
            return 200, {"taskID": self._next_task(), "updatedAt": now}
        if method == "POST" and rest == "/operation":
            return self._operation(name, body)
        if method == "DELETE" and rest == "":
            self.indexes.pop(name, None)
            return 200, {"taskID": self._next_task(), "deletedAt": now}
        if method == "POST" and rest.endswith("/query") and name not in self.indexes:
            return 404, {"message": f"Index {name} does not exist", "status": 404}
        if method == "POST" and rest == "/query":
            return 200, self._search(name, body)
        if method == "POST" and (facet := re.fullmatch(r"/facets/([^/]+)/query", rest)):
            return 200, self._facet_search(name, {**body, "facet": facet.group(1)})
        return 404, {"message": f"no route {method} {path}", "status": 404}

    def _operation(self, name: str, body: dict) -> tuple[int, dict]:
        source = self._index(name)
        destination = self._index(body["destination"])
        scope = body.get("scope")
        settings = {k: v for k, v in source["settings"].items() if k != "replicas"}
        if body["operation"] == "copy":
            if not scope or "settings" in scope:
                destination["settings"] = dict(settings)
            if not scope:
                destination["records"] = dict(source["records"])
        elif body["operation"] == "move":
            replicas = destination["settings"].get("replicas")
            destination["records"] = source["records"]
            destination["settings"] = dict(settings)
            if replicas:
                destination["settings"]["replicas"] = replicas
            self.indexes.pop(name)
        else:
            return 400, {"message": "unknown operation", "status": 400}
        return 200, {"taskID": self._next_task(), "updatedAt": "2026-01-01T00:00:00.000Z"}

    # --- search ---------------------------------------------------------------------------------

    def _records_of(self, name: str) -> tuple[list[dict], dict]:
        index = self._index(name)
        primary = index["primary"]
        records = self._index(primary)["records"] if primary else index["records"]
        return list(records.values()), index["settings"]

    def _matches(self, record: dict, params: dict, settings: dict) -> bool:
        attributes = settings.get("searchableAttributes") or list(record)
        text = " ".join(
            " ".join(map(str, v)) if isinstance(v, list) else str(v)
            for a in attributes
            if (v := record.get(a)) is not None
        ).casefold()
        if not all(word in text for word in params.get("query", "").casefold().split()):
            return False
        for group in params.get("facetFilters") or []:
            options = group if isinstance(group, list) else [group]
            if not any(self._facet_match(record, option) for option in options):
                return False
        for condition in params.get("numericFilters") or []:
            attribute, op, number = NUMERIC.match(condition).groups()
            value, limit = float(record.get(attribute, 0)), float(number)
            ok = {
                "<": value < limit,
                "<=": value <= limit,
                ">": value > limit,
                ">=": value >= limit,
                "=": value == limit,
                "!=": value != limit,
            }[op]
            if not ok:
                return False
        return True

    @staticmethod
    def _facet_match(record: dict, option: str) -> bool:
        attribute, _, value = option.partition(":")
        value = value[1:] if value.startswith("\\-") else value
        found = record.get(attribute)
        values = found if isinstance(found, list) else [found]
        return value in {str(v) for v in values}

    @staticmethod
    def _sort(records: list[dict], settings: dict) -> list[dict]:
        ranking = (settings.get("ranking") or [])[:1] or settings.get("customRanking") or []
        for criterion in reversed(ranking):
            if found := re.fullmatch(r"(asc|desc)\((\w+)\)", criterion):
                direction, attribute = found.groups()
                records = sorted(
                    records, key=lambda r: r.get(attribute, 0), reverse=direction == "desc"
                )
        return records

    def _search(self, name: str, params: dict) -> dict:
        if params.get("type") == "facet":
            return self._facet_search(name, params)
        records, settings = self._records_of(name)
        found = self._sort([r for r in records if self._matches(r, params, settings)], settings)
        per_page = int(params.get("hitsPerPage", 20))
        page = int(params.get("page", 0))
        limit = settings.get("paginationLimitedTo", 1000)
        reachable = found[:limit]
        facets: dict[str, dict[str, int]] = {}
        for attribute in params.get("facets") or []:
            counts: dict[str, int] = {}
            for record in found:
                value = record.get(attribute)
                for v in value if isinstance(value, list) else [value]:
                    if v not in (None, ""):
                        counts[str(v)] = counts.get(str(v), 0) + 1
            top = sorted(counts.items(), key=lambda i: -i[1])[
                : params.get("maxValuesPerFacet", 100)
            ]
            facets[attribute] = dict(top)
        hits = reachable[page * per_page : (page + 1) * per_page] if per_page else []
        return {
            "hits": hits,
            "nbHits": len(found),
            "page": page,
            "nbPages": math.ceil(len(reachable) / per_page) if per_page else 0,
            "hitsPerPage": per_page,
            "facets": facets,
            "exhaustiveNbHits": True,
            "exhaustiveFacetsCount": True,
            "processingTimeMS": 1,
            "query": params.get("query", ""),
            "params": "",
            "index": name,
        }

    def _facet_search(self, name: str, params: dict) -> dict:
        records, settings = self._records_of(name)
        wanted = params.get("facetQuery", "").casefold()
        counts: dict[str, int] = {}
        for record in records:
            value = str(record.get(params["facet"]) or "")
            if value and any(w.startswith(wanted) for w in value.casefold().split()):
                counts[value] = counts.get(value, 0) + 1
        ordered = sorted(counts.items(), key=lambda i: -i[1])[: params.get("maxFacetHits", 10)]
        return {
            "facetHits": [{"value": v, "highlighted": v, "count": n} for v, n in ordered],
            "exhaustiveFacetsCount": True,
            "processingTimeMS": 1,
        }
