"""The shopstack CDK app: one stack per service plus a shared stack."""
