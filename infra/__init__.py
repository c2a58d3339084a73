"""The shopstack CDK app: one stack per service plus a shared stack."""

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
