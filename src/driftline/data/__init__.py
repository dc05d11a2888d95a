"""The data between tables and models: typing bronze's text columns (`casting`), the one
feature definition and encoding shared by training and scoring (`features`), and the
distribution profiles a model records and monitoring compares against (`profile`).

May import `core`, `lake` and `context`.
"""
