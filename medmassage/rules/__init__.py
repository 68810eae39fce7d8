"""The rules, as pure functions and data: units (the 8-minute rule), progress and MCID, which
authorization covers a visit, the catalogs (techniques, regions, conditions), ICD-10-CM, input
validation, dates and periods, text safety. Imports nothing from the other layers (only
medmassage.errors and medmassage.paths).
"""
