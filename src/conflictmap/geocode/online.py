"""Online geocoders through geopy, opt-in only: rate limited, cached on disk, offline-safe.

A second build makes zero requests (every answer, including "not found", is cached), and when
the service cannot be reached we warn once and let the offline chain answer.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geopy import exc as geopy_exc
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from platformdirs import user_cache_dir

from ..atomic import write_atomic
from .base import Place

log = logging.getLogger(__name__)

# Nominatim's usage policy: at most one request per second.
MIN_DELAY = {"nominatim": 1.0}
DEFAULT_DELAY = 1.0


class OnlineUnavailable(RuntimeError):
    """The service could not be reached; callers fall back to offline geocoders."""


def default_cache() -> Path:
    if os.environ.get("CONFLICTMAP_ONLINE_CACHE"):
        return Path(os.environ["CONFLICTMAP_ONLINE_CACHE"])
    base = Path(os.environ.get("CONFLICTMAP_CACHE", user_cache_dir("conflictmap")))
    return base / "online-geocode.json"


class Online:
    def __init__(self, service: str, user_agent: str | None, *, domain: str | None = None,
                 scheme: str | None = None, cache: Path | None = None,
                 min_delay: float | None = None, timeout: float = 10.0,
                 warn: Callable[[str], None] | None = None):
        try:
            cls = get_geocoder_for_service(service)
        except geopy_exc.GeocoderNotFound as exc:
            raise ValueError(f"unknown geocoder service {service!r}") from exc
        if not user_agent:
            raise ValueError(
                f"{service}: set a user agent that identifies you (--user-agent or "
                "CONFLICTMAP_USER_AGENT); public services refuse anonymous use")
        kwargs: dict[str, Any] = {"user_agent": user_agent, "timeout": timeout}
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
            loc = self._geocode(name, **query)
        except (geopy_exc.GeocoderUnavailable, geopy_exc.GeocoderServiceError,
                geopy_exc.GeocoderTimedOut, OSError) as exc:
            self.down = f"{type(exc).__name__}: {exc}"
            self._warn(f"online geocoder {self.service} unreachable ({self.down}); "
                       "using the offline gazetteer only")
            return None
        hit = None if loc is None else {"lat": loc.latitude, "lon": loc.longitude,
                                        "name": loc.address, "country": country,
                                        "id": (loc.raw or {}).get("osm_id") or
                                        (loc.raw or {}).get("place_id")}
        self.cache[key] = hit
        self._save()
        return None if hit is None else self._place(hit)

    def _place(self, hit: dict[str, Any]) -> Place:
        return Place(float(hit["lat"]), float(hit["lon"]), str(hit["name"]), hit.get("country"),
                     None, "settlement", f"{self.service}:{hit.get('id')}")

    def suggest(self, name: str, country: str | None = None, n: int = 5) -> list[str]:
        return []
