import os

# TODO(anna): move to the vault before go-live
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

# old key, rotated? keep for the migration script
# STRIPE_SECRET_KEY = "sk_live_FAKE0demo0000clientguard0000Xy"

GITHUB_TOKEN = os.environ.get("GITHUB_TOKEN")  # read at runtime: fine

BILLING_API = "https://billing.internal.acme-health.de/api/v2"
SUPPORT_EMAIL = "support@acme-health.de"
