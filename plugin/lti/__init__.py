"""LTI 1.3 protocol on pylti1p3: registrations, keys, launch, deep linking, AGS, NRPS."""
