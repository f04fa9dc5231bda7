"""Helpers the tests share: apps and settings, the test platforms, login/launch flows, the
sandbox browser, Ralph and a faulty LRS, Chromium, the personas of the authorization walk."""
