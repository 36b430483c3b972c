"""Clients for the platforms of `[platforms.*]`, built one way for every command: tokens from
the environment only, the endpoint from the config (`url`, or ROTATOR_RAILWAY_URL /
ROTATOR_VERCEL_URL for the sandbox) only where it may receive the token (endpoints.py), a
one-line error naming the variable to set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rotator.errors import RotatorError
from rotator.inventory.config import RailwayTarget, VercelTarget
from rotator.platforms.endpoints import checked_endpoint
from rotator.platforms.railway import RAILWAY_GRAPHQL_URL, RailwayClient, RailwayCredentials
from rotator.platforms.vercel import VERCEL_API_URL, VercelClient


def railway_client(target: RailwayTarget, environ: Mapping[str, str],
                   **kwargs: Any) -> RailwayClient:
    credentials = RailwayCredentials.from_env(environ)
    if not (credentials.api_token or credentials.project_token):
        raise RotatorError("Railway: no token", "set RAILWAY_API_TOKEN (account or workspace "
                           "token) or RAILWAY_TOKEN (project token)")
    url = checked_endpoint("railway", target.url, RAILWAY_GRAPHQL_URL, environ,
                           source="Railway endpoint (platforms.railway.url or ROTATOR_RAILWAY_URL)")
    return RailwayClient(credentials, base_url=url, **kwargs)


def vercel_client(target: VercelTarget, environ: Mapping[str, str],
                  **kwargs: Any) -> VercelClient:
    token = environ.get("VERCEL_TOKEN")
    if not token:
        raise RotatorError("Vercel: no token", "set VERCEL_TOKEN (an access token for the team)")
    url = checked_endpoint("vercel", target.url, VERCEL_API_URL, environ,
                           source="Vercel endpoint (platforms.vercel.url or ROTATOR_VERCEL_URL)")
    return VercelClient(token, team=target.team or environ.get("VERCEL_TEAM_ID") or None,
                        base_url=url, **kwargs)
