"""Pricing: the model-price catalog, operator overrides, and the `Pricer` that turns a call's
token buckets into exact Decimal costs.
"""
