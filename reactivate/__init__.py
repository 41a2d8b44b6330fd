"""reactivate: win back dormant brokerage clients.

A library with a command line on top: load dormant accounts, split them among
advisors, track each client through call -> WeCom -> product push, report the funnel.
"""

__version__ = "0.1.0"
