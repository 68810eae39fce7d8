"""Data in and out of the practice: `export all` (JSON/CSV), `import sessions` (CSV from
another system) and the FHIR R4 / US Core bundle. Reads through record/ and store/.
"""
