"""Online geocoding against a local fake Nominatim on 127.0.0.1: rate limit, cache, offline."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import typing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conflictmap.errors import UsageError
from conflictmap.geocode.online import BadAnswer, Online

from .conftest import ROOT

EXE = Path(sys.executable).with_name("conflictmap")


def send_json(handler: BaseHTTPRequestHandler, body: object) -> None:
    data = json.dumps(body).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def serve(handler: type[BaseHTTPRequestHandler]) -> typing.Iterator[str]:
    """A local server on a free port, for the length of a fixture: its host:port."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


class FakeNominatim(BaseHTTPRequestHandler):
    hits: typing.ClassVar[list[tuple[float, str]]] = []

    def do_GET(self):  # http.server's naming
        import time

        query = parse_qs(urlsplit(self.path).query)
        q = query.get("q", [""])[0]
        type(self).hits.append((time.monotonic(), q))
        body = [] if q == "Nowhere" else [{"lat": "40.2000", "lon": "45.8700", "place_id": 7,
                                           "osm_id": 42, "display_name": f"{q}, Armenia"}]
        send_json(self, body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    FakeNominatim.hits = []
    yield from serve(FakeNominatim)


def closed_port() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"127.0.0.1:{port}"


def make(domain: str, cache: Path, warnings: list[str] | None = None) -> Online:
    return Online("nominatim", "conflictmap-tests", domain=domain, scheme="http", cache=cache,
                  timeout=2, warn=(warnings.append if warnings is not None else None))


def test_rate_limit_is_one_request_per_second(server, tmp_path):
    geo = make(server, tmp_path / "c.json")
    start = time.monotonic()
    for name in ("Sotk", "Vardenis", "Nowhere"):
        geo.geocode(name, "AM")
    # the client waits a second before each later request (measured where it waits: the
    # server's arrival times also carry scheduling jitter on a loaded machine)
    assert time.monotonic() - start >= 2.0
    times = [t for t, _ in FakeNominatim.hits]
    assert len(times) == 3
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.5, gaps  # and never two at once


def test_second_run_makes_zero_requests(server, tmp_path):
    cache = tmp_path / "c.json"
    first = make(server, cache)
    a = first.geocode("Sotk", "AM")
    assert first.geocode("Nowhere", "AM") is None
    assert a is not None and a.source == "nominatim:42" and (a.lat, a.lon) == (40.2, 45.87)
    n = len(FakeNominatim.hits)
    second = make(server, cache)
    assert second.geocode("Sotk", "AM") == a
    assert second.geocode("Nowhere", "AM") is None  # "not found" is cached too
    assert len(FakeNominatim.hits) == n and second.requests == 0


def test_unreachable_service_warns_once_and_returns_none(tmp_path):
    warnings: list[str] = []
    geo = make(closed_port(), tmp_path / "c.json", warnings)
    assert geo.geocode("Sotk") is None
    assert geo.geocode("Vardenis") is None
    assert len(warnings) == 1 and "unreachable" in warnings[0]
    assert geo.requests == 1  # no hammering once it is known to be down


def test_missing_user_agent_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="user agent"):
        Online("nominatim", None, cache=tmp_path / "c.json")


def test_cli_falls_back_offline_without_traceback(tmp_path):
    env = {**os.environ, "CONFLICTMAP_ONLINE_CACHE": str(tmp_path / "online.json")}
    env.pop("CONFLICTMAP_USER_AGENT", None)
    r = subprocess.run([str(EXE), "geocode", "Zod", "--country", "AM", "--json", "--geocoder",
                        "nominatim", "--domain", closed_port(), "--scheme", "http",
                        "--user-agent", "conflictmap-tests"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["source"] == "geonames:616041"
    assert r.stderr.count("warning: online geocoder nominatim unreachable") == 1
    assert "Traceback" not in r.stderr


def test_cli_uses_the_service_when_up(server, tmp_path):
    env = {**os.environ, "CONFLICTMAP_ONLINE_CACHE": str(tmp_path / "online.json")}
    args = [str(EXE), "geocode", "Some hamlet", "--json", "--geocoder", "nominatim",
            "--domain", server, "--scheme", "http", "--user-agent", "conflictmap-tests"]
    r = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["source"] == "nominatim:42"
    again = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.stdout == r.stdout and len(FakeNominatim.hits) == 1


class Hostile(BaseHTTPRequestHandler):
    """Answers by query: `trickle` sends one byte every 0.5 s (each read is quick, the whole
    never ends); the others give a Nominatim answer with a bad or absent coordinate."""

    answers: typing.ClassVar[dict[str, dict[str, object]]] = {
        "abc": {"lat": "abc", "lon": "45.87"}, "nan": {"lat": "nan", "lon": "45.87"},
        "inf": {"lat": "inf", "lon": "45.87"}, "95": {"lat": "95", "lon": "45.87"},
        "lon-nan": {"lat": "40.2", "lon": "nan"}, "none": {}, "null": {"lat": None, "lon": None},
    }

    def do_GET(self):  # http.server's naming
        q = parse_qs(urlsplit(self.path).query).get("q", [""])[0]
        if q == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(120):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            return
        send_json(self, [{"place_id": 7, "osm_id": 42, "display_name": f"{q}, Armenia",
                          **self.answers[q]}])

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile():
    yield from serve(Hostile)


def test_a_trickling_server_meets_a_deadline_for_the_whole_request(hostile, tmp_path):
    warnings: list[str] = []
    geo = Online("nominatim", "conflictmap-tests", domain=hostile, scheme="http",
                 cache=tmp_path / "c.json", timeout=1.5, warn=warnings.append)
    start = time.monotonic()
    assert geo.geocode("trickle") is None
    assert geo.geocode("trickle again") is None  # down now: no second wait
    took = time.monotonic() - start
    assert took < 3, took  # each read arrives within 0.5 s: a per-read timeout never trips
    assert len(warnings) == 1 and "within 1.5 s" in warnings[0]


@pytest.mark.parametrize("query", sorted(Hostile.answers))
def test_an_answer_that_is_not_a_point_is_an_error_naming_the_place(hostile, tmp_path, query):
    geo = Online("nominatim", "conflictmap-tests", domain=hostile, scheme="http",
                 cache=tmp_path / "c.json", min_delay=0)
    with pytest.raises(BadAnswer, match=f"answer for '{query}'"):
        geo.geocode(query)
    assert not (tmp_path / "c.json").exists()  # nothing wrong is cached


def _cli(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONFLICTMAP_ONLINE_CACHE": str(tmp_path / "online.json"), **env}
    return subprocess.run([str(EXE), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_cli_geocode_does_not_hang_on_a_trickling_server(hostile, tmp_path):
    start = time.monotonic()
    r = _cli("geocode", "trickle", "--json", "--geocoder", "nominatim", "--domain", hostile,
             "--scheme", "http", "--user-agent", "t", tmp_path=tmp_path,
             CONFLICTMAP_ONLINE_TIMEOUT="1")
    assert time.monotonic() - start < 20
    assert r.returncode == 1 and "Traceback" not in r.stderr  # offline knows no 'trickle'
    assert "unreachable" in r.stderr and "within 1 s" in r.stderr


def test_cli_build_exits_1_on_an_answer_without_coordinates(hostile, tmp_path):
    events = tmp_path / "events"
    events.mkdir()
    (events / "2020-11-26-x.yaml").write_text(
        "date: 2020-11-26\ntitle: x\nevent_type: Battles\n"
        "location: {name: none}\n"
        "sources: [{publisher: p, published: 2020-11-26}]\n", encoding="utf-8")
    r = _cli("build", "--events", str(events), "--out", str(tmp_path / "out"), "--geocoder",
             "nominatim", "--domain", hostile, "--scheme", "http", "--user-agent", "t",
             tmp_path=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "answer for 'none' has no coordinates" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("query", ["abc", "95"])
def test_cli_geocode_bad_latitude_is_one_clear_line(hostile, tmp_path, query):
    r = _cli("geocode", query, "--geocoder", "nominatim", "--domain", hostile, "--scheme",
             "http", "--user-agent", "t", tmp_path=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"answer for '{query}'" in r.stderr and "internal error" not in r.stderr
