"""Everything Stripe-shaped: the Connect gateway (gateway.py) and its webhooks (webhooks.py).

The only package importing the `stripe` SDK.
"""
