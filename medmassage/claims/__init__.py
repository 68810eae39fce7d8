"""Claims (SPEC §11): a CMS-1500 (02/12) claim built from a case's signed visits, printed on
the red form or sent as an X12 837P 005010X222A2 file.

The claim's data is one JSON-ready dict keyed by the NUCC box numbers (`claim show -f json`,
documented in the README; samples in tests/data/claims/). build.py makes it from the record;
cms1500.py places it on the form's grid; x12.py writes it as 837P. The two writers read only
that dict (and, for X12, the clearinghouse envelope), so what is printed, what is sent and what
`claim show` says never disagree.
"""
