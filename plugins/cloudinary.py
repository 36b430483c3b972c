"""Cloudinary URLs (`cloudinary://<api_key>:<api_secret>@<cloud_name>`, the `CLOUDINARY_URL`
the SDKs read): detection, the secret being the api_secret; rotation: generate a new API key
pair in the Cloudinary console (Settings > API Keys), update `CLOUDINARY_URL` everywhere, then
deactivate and delete the old pair."""

from __future__ import annotations

from rotator.plugin_api import FamilyDetector
from rotator.rules import Rule

RULES = (
    Rule(
        id="cloudinary-url-secret",
        kind="cloudinary_api_secret",
        description="Cloudinary API secret in a cloudinary:// URL: uploads, deletes, signs assets.",
        patterns=(
            r"(?i:cloudinary)://(?P<user>[0-9]{6,20}):(?P<secret>[A-Za-z0-9_-]{16,64})"
            r"@[A-Za-z0-9_-]{2,64}",
        ),
        keywords=("cloudinary://",),
        priority=0,
        min_entropy=3.0,
        examples=(
            "CLOUDINARY_URL=cloudinary://789655485845552:l0WXq5SNhDJ1kMNSFlNRRvKYaai@acme-media",
            '  cloudinaryUrl: "cloudinary://895188790293791:ihpIAMClpKywgJH-lNPF7OlgegZ@dx7prod"',
            "| `CLOUDINARY_URL` | `cloudinary://224475103079571:uAdweLJyXen50mwxY9uHb0ZZe-z@shopimages` | media |",
        ),
        counter_examples=(
            "CLOUDINARY_URL=cloudinary://<api_key>:<api_secret>@<cloud_name>",
            "Set cloudinary://<key>:<secret>@<cloud> as CLOUDINARY_URL.",
            "CLOUDINARY_URL=cloudinary://123456789012345:xxxxxxxxxxxxxxxxxxxxxxxxxxx@demo",
            "CLOUDINARY_URL=cloudinary://${CLOUDINARY_KEY}:${CLOUDINARY_SECRET}@mycloud",
        ),
    ),
)


class CloudinaryUrlDetector(FamilyDetector):
    """Cloudinary URL api_secret."""

    secret_type = "Cloudinary API Secret"
    rules = RULES
