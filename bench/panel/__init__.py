"""The operator station: a local web panel for inspecting unit after unit (``isobench station``).

A front-end over the one runner (``bench.runner``): the panel gathers the run's options
(operator, lot, serial), renders the runner's events and asks it for an abort. It never decides
anything in the browser: the server holds the station's state (``state.PanelState``), every tab
renders the same state from server-sent events, and every action is a POST the server checks.
"""
