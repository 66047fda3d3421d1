"""Write side of the orders app, split by sub-domain (import from the submodules).

Calls go one way, downwards: checkout (address, reservation, payment page) -> payment (the
payment outcome and cancellations) -> refunds (money going back) -> transitions, stock.
orders/tests/test_services_layout.py keeps it so.
"""
