"""Online geocoders through geopy, opt-in only: rate limited, cached on disk, offline-safe.

A second build makes zero requests (every answer, including "not found", is cached), and when
the service cannot be reached we warn once and let the offline chain answer. A service that
answers but too slowly is "unreachable" too: each request has a wall-clock deadline, because
geopy's timeout bounds each socket read, and a server trickling one byte every few seconds
never trips it. An answer we cannot use as a point (no coordinates, "nan", latitude 95) is an
error naming the place, never a point at 0, 0.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geopy import exc as geopy_exc
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from platformdirs import user_cache_dir

from ..atomic import write_atomic
from ..errors import ConflictmapError, UsageError
from .base import Place

log = logging.getLogger(__name__)
# geopy warns on a latitude past a pole before it refuses it; we say what is wrong ourselves
warnings.filterwarnings("ignore", message="Latitude normalization", module="geopy")

# Nominatim's usage policy: at most one request per second.
MIN_DELAY = {"nominatim": 1.0}
DEFAULT_DELAY = 1.0
# Seconds a request may take in all, connection to last byte (CONFLICTMAP_ONLINE_TIMEOUT).
DEFAULT_DEADLINE = 10.0


class OnlineSetupError(UsageError):
    """`--geocoder` and its options name no service we can use."""


class BadAnswer(ConflictmapError):
    """The service answered with something that is not a point; the message names the place."""


class _TooSlow(Exception):
    """The request passed its deadline (the worker thread is left to finish on its own)."""


def default_deadline() -> float:
    try:
        value = float(os.environ.get("CONFLICTMAP_ONLINE_TIMEOUT", DEFAULT_DEADLINE))
    except ValueError:
        return DEFAULT_DEADLINE
    return value if math.isfinite(value) and value > 0 else DEFAULT_DEADLINE


def within(deadline: float, call: Callable[[], Any]) -> Any:
    """`call()`'s result, or `_TooSlow` once `deadline` seconds have passed.

    A daemon thread, not an executor: an executor's threads are joined at exit, so a trickling
    server would still hold the process; a daemon thread is dropped with it.
    """
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            box.put((True, call()))
        except BaseException as exc:  # handed to the caller's thread, raised there
            box.put((False, exc))

    threading.Thread(target=run, name="online-geocode", daemon=True).start()
    try:
        ok, value = box.get(timeout=deadline)
    except queue.Empty:
        raise _TooSlow(f"no complete answer within {deadline:g} s") from None
    if not ok:
        raise value
    return value


def _coordinate(raw: Any, limit: float) -> float | None:
    """A latitude/longitude as a service wrote it, or None when it is not one."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and -limit <= value <= limit else None


def point_of(service: str, name: str, raw: dict[str, Any] | None, lat: Any, lon: Any,
             ) -> tuple[float, float]:
    """The answer's point, checked: a missing, non-numeric, infinite or out-of-range value,
    or 0, 0 (what geopy makes of absent coordinates), is a `BadAnswer`."""
    raw = raw if isinstance(raw, dict) else {}
    given_lat, given_lon = raw.get("lat", lat), raw.get("lon", lon)
    la, lo = _coordinate(given_lat, 90), _coordinate(given_lon, 180)
    if given_lat is None or given_lon is None or (la, lo) == (0.0, 0.0):
        raise BadAnswer(f"online geocoder {service}: the answer for {name!r} has no "
                        "coordinates; give lat/lon in the record or use --geocoder offline")
    for what, value, ok in (("latitude", given_lat, la), ("longitude", given_lon, lo)):
        if ok is None:
            raise BadAnswer(f"online geocoder {service}: the answer for {name!r} has "
                            f"{str(value)[:40]!r} as its {what}, not a valid {what}; give "
                            "lat/lon in the record or use --geocoder offline")
    return la, lo  # type: ignore[return-value]


def default_cache() -> Path:
    if os.environ.get("CONFLICTMAP_ONLINE_CACHE"):
        return Path(os.environ["CONFLICTMAP_ONLINE_CACHE"])
    base = Path(os.environ.get("CONFLICTMAP_CACHE", user_cache_dir("conflictmap")))
    return base / "online-geocode.json"


class Online:
    def __init__(self, service: str, user_agent: str | None, *, domain: str | None = None,
                 scheme: str | None = None, cache: Path | None = None,
                 min_delay: float | None = None, timeout: float | None = None,
                 warn: Callable[[str], None] | None = None):
        """`timeout`: seconds a whole request may take (default `default_deadline()`)."""
        try:
            cls = get_geocoder_for_service(service)
        except geopy_exc.GeocoderNotFound:
            raise OnlineSetupError(f"--geocoder: unknown geocoder service {service!r}") from None
        if not user_agent:
            raise OnlineSetupError(
                f"--geocoder: {service}: set a user agent that identifies you (--user-agent or "
                "CONFLICTMAP_USER_AGENT); public services refuse anonymous use")
        self.deadline = default_deadline() if timeout is None else timeout
        kwargs: dict[str, Any] = {"user_agent": user_agent, "timeout": self.deadline}
        if domain:
            kwargs["domain"] = domain
        if scheme:
            kwargs["scheme"] = scheme
        self.service = service
        self.name = service
        self.client = cls(**kwargs)
        delay = MIN_DELAY.get(service, DEFAULT_DELAY) if min_delay is None else min_delay
        self._geocode = RateLimiter(self.client.geocode, min_delay_seconds=delay, max_retries=0,
                                    swallow_exceptions=False)
        self.cache_path = cache or default_cache()
        self.cache: dict[str, Any] = self._read_cache()
        self.down: str | None = None
        self.requests = 0
        self.request_times: list[float] = []
        self._warn = warn or (lambda m: log.warning(m))
        self._key_base = f"{service}|{domain or ''}"

    def _read_cache(self) -> dict[str, Any]:
        try:
            return json.loads(self.cache_path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}

    def _save(self) -> None:
        write_atomic(self.cache_path, json.dumps(self.cache, ensure_ascii=False, indent=0))

    def geocode(self, name: str, country: str | None = None) -> Place | None:
        key = f"{self._key_base}|{country or ''}|{name}"
        if key in self.cache:
            hit = self.cache[key]
            return None if hit is None else self._place(hit)
        if self.down:
            return None
        query: dict[str, Any] = {"exactly_one": True}
        if country and self.service == "nominatim":
            query["country_codes"] = country.lower()
        try:
            self.request_times.append(time.monotonic())
            self.requests += 1
            loc = within(self.deadline, lambda: self._geocode(name, **query))
        except (geopy_exc.GeocoderUnavailable, geopy_exc.GeocoderServiceError,
                geopy_exc.GeocoderTimedOut, OSError, _TooSlow) as exc:
            self.down = f"{type(exc).__name__.lstrip('_')}: {exc}"
            self._warn(f"online geocoder {self.service} unreachable ({self.down}); "
                       "using the offline gazetteer only")
            return None
        except (ValueError, TypeError, KeyError, geopy_exc.GeopyError) as exc:
            # geopy could not parse the answer ("abc", "nan", 95 as a latitude)
            raise BadAnswer(f"online geocoder {self.service}: the answer for {name!r} is not "
                            f"a usable place ({exc}); give lat/lon in the record or use "
                            "--geocoder offline") from None
        hit = None
        if loc is not None:
            raw = loc.raw if isinstance(loc.raw, dict) else {}
            lat, lon = point_of(self.service, name, raw, loc.latitude, loc.longitude)
            hit = {"lat": lat, "lon": lon, "name": loc.address, "country": country,
                   "id": raw.get("osm_id") or raw.get("place_id")}
        self.cache[key] = hit
        self._save()
        return None if hit is None else self._place(hit)

    def _place(self, hit: dict[str, Any]) -> Place:
        return Place(float(hit["lat"]), float(hit["lon"]), str(hit["name"]), hit.get("country"),
                     None, "settlement", f"{self.service}:{hit.get('id')}")

    def suggest(self, name: str, country: str | None = None, n: int = 5) -> list[str]:
        return []
