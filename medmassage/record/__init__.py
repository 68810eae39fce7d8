"""Operations on the record: clients, cases and authorizations, intake and measures,
sessions, goals, the therapist's profile, note templates and phrases, search, and the demo
practice. Uses store/ to write and rules/ to decide; never imports documents/, exchange/ or cli/.
"""
