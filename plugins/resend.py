"""Resend API keys (`re_` + 8 + `_` + 24, and other `re_` shapes where the code says it is a
Resend key): detection; rotation issues a new key, then deletes the old one once the services
are verified on the new key (deletion is final)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rotator.errors import ConfigError
from rotator.plugin_api import FamilyDetector
from rotator.rotate.family import FamilyContext, FamilyError, FamilyPlan, FamilyRotation
from rotator.rules import Rule, assignment_patterns

# Resend documents no key format beyond the `re_` prefix (api/resend.md §2), and keys issued
# before the 8+24 shape, or pasted by hand, take other shapes (`re_` + a UUID, `re_` + 32). So
# any `re_` token counts where the code says it is a Resend key: the SDK constructor, the SDK's
# `api_key` setting, a Resend-named variable, or a Bearer header (`Authorization: Bearer re_…`
# is how Resend's API reference sends a key). At least one capital or digit: `re_test_key`,
# `re_your_api_key_here` and `re_webhook_verify_only` are the words tests and docs use.
_ANY_SHAPE = r"(?P<secret>re_[a-z_-]{0,40}[A-Z0-9][A-Za-z0-9_-]{11,80})(?:[^A-Za-z0-9_-]|$)"

RULES = (
    Rule(
        id="resend-api-key",
        kind="resend_api_key",
        description="Resend API key: sends email as your domain; revoke it at resend.com/api-keys.",
        patterns=(r"(?:^|[^A-Za-z0-9_])(?P<secret>re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24})(?:[^A-Za-z0-9_]|$)",),
        keywords=("re_",),
        priority=0,
        min_entropy=3.0,
        examples=(
            'RESEND_API_KEY="re_G2ZYwuFo_EgE0xN6GD7n91HCXbeorVT0u"',
            "| `RESEND_API_KEY` | `re_Zo41IugZ_7yGV3yL04urFNpBiVLMCwCPv` | Email |",
            "resend = Resend('re_Yc0JDIrv_D1yEBABfCxJAcPEV3MiWPDSx')",
            "- Name: `RESEND_API_KEY`\n- Value: `re_YIC9mXQe_mPbfmIvSZFCwydhBGMe9Px92`",
        ),
        counter_examples=(
            'RESEND_API_KEY="re_xxxxxxxxx"',
            "RESEND_API_KEY=<your Resend API key>",
            "RESEND_API_KEY=${{ secrets.RESEND_API_KEY }}",
            "const re_value = re_match(pattern)",
        ),
    ),
    Rule(
        id="resend-api-key-in-code",
        kind="resend_api_key",
        description="Resend API key in another shape than re_8_24, passed to the Resend SDK, set "
        "as its api_key, sent as a Bearer token or assigned to a RESEND_* variable.",
        patterns=(
            r"\bResend(?:\.Resend)?\([ \t]*[\"'`]" + _ANY_SHAPE,
            r"\b(?i:resend)\.api_key[ \t]*=[ \t]*[\"']" + _ANY_SHAPE,
            r"\bBearer[ \t]+" + _ANY_SHAPE,
            *assignment_patterns(r"[a-z0-9_]*resend[a-z0-9_]*(?:key|token)", _ANY_SHAPE),
        ),
        keywords=("resend", "bearer"),
        # the 8+24 rule claims its own shape
        priority=1,
        min_entropy=3.0,
        examples=(
            'const resend = new Resend("re_ySWVPUkp5korjRFas9wcsQdJs4XhH6mZ");',
            "const resend = new Resend.Resend('re_d74a3721-b025-4de9-beb1-bcf75973c2d6');",
            "curl -H 'Authorization: Bearer re_0EvkdPSRycPz2QCsVSk2L3qnLaNWcMnYJ7VR6Q3S' https://api.resend.com/emails",
            'resend.api_key = "re_WIMB5DUhSzekjWKyS3O2GBxzRKUd"',
            "RESEND_API_KEY=re_x9WdSytGD7e0KauiAzmC7AEJdqJfi8cg",
        ),
        counter_examples=(
            'const resend = new Resend("re_webhook_verify_only")',
            "const resend = new Resend('re_xxxxxxxxx')",
            'resend = Resend("re_123")',
            "headers: { Authorization: 'Bearer re_test_key' }",
            "RESEND_API_KEY=re_your_resend_api_key_here",
            "const resend = new Resend(process.env.RESEND_API_KEY)",
            'RESEND_API_KEY="re_..."',
        ),
    ),
)


class ResendDetector(FamilyDetector):
    """Resend API key."""

    secret_type = "Resend API Key"
    rules = RULES


PERMISSIONS = ("full_access", "sending_access")
# Resend key names: "Maximum 50 characters" (api/resend.md §3, docs prose; the sandbox enforces it).
MAX_KEY_NAME = 50
# params.domain_id value that asks for a sending key valid for every domain of the team.
ANY_DOMAIN = "*"


def issued_key_name(run_id: str) -> str:
    """``rotator <run id>``, at most 50 characters: a long run id (it embeds the group name)
    keeps its head (timestamp, group) and its random tail, so the key stays findable."""
    name = f"rotator {run_id}"
    if len(name) <= MAX_KEY_NAME:
        return name
    tail = run_id[-7:]  # "-" + the run id's 6 random hex digits
    return f"{name[:MAX_KEY_NAME - len(tail) - 1]}~{tail}"


class ResendKey(FamilyRotation):
    """An API key issued by Resend: several keys may live at once, so the new key is created
    first, the services cut over and verified, and only then the old key deleted (deletion is
    final). On rollback the newly created key is deleted instead.

    Keys are managed with a full_access key: ``management_key_env`` (default RESEND_API_KEY) if
    set, else the current key itself when it is full_access. Resend shows no token for a key
    id, so the old key is found by ``key_id``, ``key_name``, or the id this family recorded at
    the previous rotation. ``permission`` defaults to the current key's own; a sending key's
    ``domain_id`` (id or name, "*" for every domain) must be given, as Resend does not expose
    it. New keys are named ``rotator <run id>`` within Resend's 50 characters. Scheduled mode
    may keep the old key for ``grace``.
    """

    name = "resend"
    default_format = None  # Resend mints the value
    parameters = frozenset({"key_id", "key_name", "permission", "domain_id",
                            "management_key_env"})
    issues_credential = True
    grace_supported = True
    init_hints = (
        'params = {key_name = "…", domain_id = "…"}  — key_name: which Resend key the services '
        "use (Resend shows no token for a key; `rotator plan` lists the account's keys), not "
        "needed after the first rotation, which records the new key's id; domain_id: for a "
        'sending key, the domain it is restricted to (id or name, "*" for every domain)',
        'grace = "7d"  — scheduled mode only: keep the replaced key alive this long',
    )

    def check_params(self, params: Mapping[str, Any], where: str) -> None:
        super().check_params(params, where)
        if "permission" in params and params["permission"] not in PERMISSIONS:
            raise ConfigError(f"{where}.permission must be one of {', '.join(PERMISSIONS)}")
        for key in ("key_id", "key_name", "domain_id", "management_key_env"):
            if key in params and (not isinstance(params[key], str) or not params[key]):
                raise ConfigError(f"{where}.{key} must be a non-empty string")

    @staticmethod
    def _client(ctx: FamilyContext, key: str):
        from rotator.platforms.endpoints import checked_endpoint
        from rotator.platforms.resend import RESEND_API_URL, ResendClient

        url = checked_endpoint("resend", ctx.environ.get("RESEND_BASE_URL"), RESEND_API_URL,
                               ctx.environ, source="RESEND_BASE_URL")
        return ResendClient(key, base_url=url,
                            timeout=ctx.timing.request_timeout,
                            retry=ctx.timing.retry_policy())

    @staticmethod
    def _management_env(ctx: FamilyContext) -> str:
        return ctx.params.get("management_key_env", "RESEND_API_KEY")

    def _manager(self, ctx: FamilyContext, old: str | None) -> str | None:
        return ctx.environ.get(self._management_env(ctx)) or old

    @staticmethod
    def issued_name(ctx: FamilyContext) -> str:
        """The new key's name: the run id makes it findable if the create answer is lost."""
        return issued_key_name(ctx.run_id)

    @staticmethod
    def _names_this_run_may_have_used(ctx: FamilyContext) -> set[str]:
        # Runs journaled before names were capped used "rotator <group> <run id>".
        return {issued_key_name(ctx.run_id), f"rotator {ctx.group.name} {ctx.run_id}"}

    @staticmethod
    def _domain_restriction(ctx: FamilyContext, permission: str, domains: list[Any],
                            plan: FamilyPlan) -> str | None:
        """The domain id the new key is restricted to (None: unrestricted), or a blocker.

        Resend's API does not tell which domain an existing key is restricted to (the key
        list has no permission or domain; api/resend.md §3), so a sending key's restriction
        comes from params.domain_id: a domain id or name, or "*" for every domain. Guessing
        would widen a restricted key silently."""
        wanted = ctx.params.get("domain_id")
        if permission != "sending_access":
            if wanted:
                plan.notes.append("params.domain_id is ignored: Resend restricts only "
                                  "sending_access keys to a domain")
            return None
        listing = ", ".join(f"{d.name} ({d.id})" for d in domains) or "none"
        if wanted is None:
            plan.blockers.append(
                "Resend: the key is sending-only, and Resend's API does not say whether it is "
                "restricted to a domain; set params.domain_id to the domain it sends from, or "
                f'"{ANY_DOMAIN}" for every domain — domains on the account: {listing}')
            return None
        if wanted == ANY_DOMAIN:
            return None
        match = [d for d in domains if wanted in (d.id, d.name)]
        if len(match) != 1:
            plan.blockers.append(f"Resend: params.domain_id {wanted!r} is not a domain of the "
                                 f"account — domains: {listing}")
            return None
        return match[0].id

    def plan(self, ctx: FamilyContext, old_values: Mapping[str, str | None],
             variables: Mapping[str, str]) -> FamilyPlan:
        plan = FamilyPlan()
        old = self.old_secret(old_values)
        manager = self._manager(ctx, old)
        if manager is None:
            plan.blockers.append(f"no Resend management key: set {self._management_env(ctx)} "
                                 "to a full_access key (the current key is unreadable)")
            return plan
        with self._client(ctx, manager) as client:
            keys = client.list_api_keys()
            permission = ctx.params.get("permission")
            if permission is None and old is not None:
                permission = client.check_key(old).permission
            domains = client.list_domains() if permission == "sending_access" else []
        record = ctx.previous or {}
        previous = (record.get("provider") or {}).get("new_key_id")
        # Keys a grace window keeps alive are replaced ones, never the key in use.
        retiring = {(item.get("provider") or {}).get("old_key_id")
                    for item in record.get("pending_revocations", [])}
        by_id = {k.id: k for k in keys if k.id not in retiring}
        wanted_id, wanted_name = ctx.params.get("key_id"), ctx.params.get("key_name")
        if previous in by_id:
            # The last rotation put this key in place: it wins over the parameters, which
            # named the key before it.
            matches = [by_id[previous]]
            if wanted_id not in (None, previous) or wanted_name not in (None, matches[0].name):
                plan.notes.append(f"params name another key than the one the last rotation "
                                  f"put in place ({previous}); that one is rotated — the "
                                  "parameter is only needed for the first rotation")
        elif wanted_id:
            matches = [by_id[wanted_id]] if wanted_id in by_id else []
        elif wanted_name:
            matches = [k for k in by_id.values() if k.name == wanted_name]
        else:
            matches = []
        if len(matches) != 1:
            names = ", ".join(sorted(f"{k.name!r} ({k.id})" for k in keys)) or "none"
            what = (f"key_id {wanted_id!r}" if wanted_id else f"key_name {wanted_name!r}"
                    if wanted_name else "which key the services use")
            plan.blockers.append(f"Resend: cannot tell {what} "
                                 f"({len(matches)} match); set params.key_id or params.key_name "
                                 f"— keys on the account: {names}")
            return plan
        if permission is None:
            plan.blockers.append("Resend: the current key's permission is unknown; set "
                                 "params.permission (full_access or sending_access)")
            return plan
        (old_key,) = matches
        domain_id = self._domain_restriction(ctx, permission, domains, plan)
        if plan.blockers:
            return plan
        env_key = ctx.environ.get(self._management_env(ctx))
        if ctx.group.mode == "scheduled" and ctx.group.grace_days and (
                not env_key or env_key == old):
            plan.blockers.append(
                f"grace: the replaced key is deleted by a later `rotate --due`, which needs "
                f"{self._management_env(ctx)} set to a full_access key other than the one "
                "being rotated (it is not, now)")
            return plan
        plan.provider = {"old_key_id": old_key.id, "old_key_name": old_key.name,
                         "permission": permission}
        if domain_id:
            plan.provider["domain_id"] = domain_id
        scope = next((f" restricted to {d.name}" for d in domains if d.id == domain_id), "")
        plan.calls.append(f"POST /api-keys: create a {permission} key{scope} named "
                          "'rotator <run id>'")
        revoke = ("kept until the grace window ends; `rotate --due` deletes it"
                  if ctx.group.mode == "scheduled" and ctx.group.grace_days
                  else "deleted once the services are verified on the new key")
        plan.calls.append(f"DELETE /api-keys/{old_key.id} ({old_key.name!r}): {revoke}")
        if old is not None and manager == old:
            plan.notes.append(f"the Resend management key ({self._management_env(ctx)}) is the "
                              "key being rotated: the new key takes over managing keys; update "
                              "that secret where your jobs read it")
        return plan

    def locked_resources(self, provider: Mapping[str, Any]) -> list[str]:
        return [f"Resend key {provider['old_key_id']}"] if provider.get("old_key_id") else []

    def issue(self, ctx: FamilyContext) -> str:
        manager = self._manager(ctx, ctx.provider.get("old_secret"))
        with self._client(ctx, manager) as client:
            created = client.create_api_key(self.issued_name(ctx),
                                            permission=ctx.provider["permission"],
                                            domain_id=ctx.provider.get("domain_id"))
        ctx.provider["new_key_id"] = created.id
        ctx.provider["new_key_name"] = self.issued_name(ctx)
        return created.token

    def _delete(self, ctx: FamilyContext, key_id: str, managers: list[str | None]) -> None:
        from rotator.platforms.http import AuthError, NotFound

        errors: list[Exception] = []
        for manager in dict.fromkeys(m for m in managers if m):
            try:
                with self._client(ctx, manager) as client:
                    client.delete_api_key(key_id)
                return
            except NotFound:
                return  # already deleted (a resumed run)
            except AuthError as error:
                errors.append(error)  # that key is gone or cannot manage keys: try the next
        if errors:
            raise errors[-1]
        raise FamilyError(f"Resend: no key left that can delete key {key_id}")

    def revoke_old(self, ctx: FamilyContext) -> str | None:
        key_id = ctx.provider.get("old_key_id")
        if not key_id:
            return None
        env_key = ctx.environ.get(self._management_env(ctx))
        # The management key first, unless it is the key being deleted; then the new key.
        managers = [k for k in (env_key, ctx.provider.get("new_secret"))
                    if k != ctx.provider.get("old_secret")] + [ctx.provider.get("old_secret")]
        self._delete(ctx, key_id, managers)
        return f"deleted the replaced Resend key {key_id}"

    def revoke_new(self, ctx: FamilyContext) -> str | None:
        from rotator.platforms.http import AuthError

        env_key = ctx.environ.get(self._management_env(ctx))
        managers = [env_key, ctx.provider.get("old_secret")]
        key_id = ctx.provider.get("new_key_id")
        if key_id is None:
            # The create answer was lost: find the key by the name this run gave it.
            names = self._names_this_run_may_have_used(ctx)
            found: list[str] | None = None
            for manager in dict.fromkeys(m for m in managers if m):
                try:
                    with self._client(ctx, manager) as client:
                        found = [k.id for k in client.list_api_keys() if k.name in names]
                    break
                except AuthError:
                    continue  # that key cannot list keys (deleted, sending-only): next one
            if found is None:
                raise FamilyError("Resend: no key that can list API keys, to find the one "
                                  "this run may have created")
            if not found:
                return None
            key_id = found[0]
        self._delete(ctx, key_id, managers)
        return f"deleted the newly issued Resend key {key_id}"

    def provider_problems(self, ctx: FamilyContext, which: str) -> list[str]:
        token = ctx.provider.get(f"{which}_secret")
        if token is None:
            return []
        manager = self._manager(ctx, ctx.provider.get("old_secret")) or token
        with self._client(ctx, manager) as client:
            status = client.check_key(token)
        if status.live is not True:
            return [f"Resend: the {which} key is not live ({status.reason})"]
        return []


ROTATION = ResendKey()
