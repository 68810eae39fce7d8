"""Where each box of the CMS-1500 (02/12) is: the form's text grid, in PDF points on US Letter.

The NUCC designed the 1500 for 10 characters per inch and 6 lines per inch (Pica 10 pitch;
222health.com "The Printing Rules for the CMS 1500", medclaimsoftware.com field requirements).
The line and column of every box below are OpenEMR's (openemr/openemr src/Billing/Hcfa1500.php,
`putHcfa(line, col, maxlen, data)`, 02/12 version: box 1 on line 8, 1a at column 50, service
lines on lines 43/44 … 53/54, box 25 on line 56, 33a on line 61). OpenEMR prints that text grid
with Cezpdf in 12-pt Courier (exactly 10 characters per inch) at a 12-pt leading, 24 pt from the
left edge and 20 pt from the top (GeneratorHCFA_PDF.php; globals `cms_left_margin_default` 24,
`cms_top_margin_default` 20, the defaults its users print onto the red form with), so
column c starts at x = 24 + 7.2·(c − 1) pt and the baseline of line n is 20 + 12·n pt from the top.
Cross-checks: the NUCC print rules put the form's top margin at 1.33 in and the first print
position 0.3 in from the left edge (222health.com): here box 1 begins 1.32 in from the top and
column 1 at 0.33 in. A commercial billing system's print layout for the red form (an SQL seed of
"HCFA SVG Transform No Background", positions in inches, found through the code search) agrees
within about 0.05 in across the page: box 1a at 5.25 in (here 5.23), 24G at 6.11 in (6.13),
24J at 6.98 in (7.03).

The box outlines (used only for the proof copy and by the tests) are drawn around those cells:
each box spans its label line and its data line(s), the left and right halves of the form meet
between columns 49 and 50, and a box's sides fall half a column outside its first and last
data character. They are not a copy of the printed form; the data is.
"""

from __future__ import annotations

from typing import NamedTuple

PAGE_W = 612.0  # US Letter, points
PAGE_H = 792.0
COL_W = 7.2  # 10 characters per inch
LINE_H = 12.0  # 6 lines per inch
LEFT = 24.0  # x of column 1 (OpenEMR cms_left_margin_default, points)
BASE = 20.0  # baseline of line n is BASE + LINE_H * n (OpenEMR cms_top_margin_default + leading)
ASCENT = 9.0  # a line's cell reaches this far above its baseline …
DESCENT = 3.0  # … and this far below (9 + 3 = one 12-pt line)
FONT_SIZE = 10.0  # 10-pt Courier, 6 pt a character, spaced out to the form's 10 an inch
GLYPH_W = 6.0
NARROW_PITCH = 6.0  # 12 characters an inch, for a name or address longer than its box

L, M, R = 0.5, 49.5, 80.5  # column edges: the form's left side, middle and right side
A = 29.5  # edge between the first and second column of the left half (boxes 2|3, 5|6, 14|15 …)


def x(col: float) -> float:
    """Left edge of column `col` (1-based; fractional for the edges between cells)."""
    return LEFT + COL_W * (col - 1)


def baseline(line: int) -> float:
    """Baseline of text on grid line `line`, from the top of the page."""
    return BASE + LINE_H * line


def line_top(line: int) -> float:
    return baseline(line) - ASCENT


def line_bottom(line: int) -> float:
    return baseline(line) + DESCENT


class Rect(NamedTuple):
    """A rectangle in points from the top-left corner of the page."""

    left: float
    top: float
    right: float
    bottom: float

    def contains(self, px: float, py: float) -> bool:
        return self.left <= px <= self.right and self.top <= py <= self.bottom


class Box(NamedTuple):
    """A box of the form: grid lines first..last, between column edges left and right."""

    key: str
    label: str
    first: int
    last: int
    left: float
    right: float

    @property
    def rect(self) -> Rect:
        return Rect(x(self.left), line_top(self.first), x(self.right), line_bottom(self.last))


def cell(line: int, col: int, width: int = 1) -> Rect:
    """The grid cell(s) of `width` characters starting at `col` on `line`."""
    return Rect(x(col), line_top(line), x(col + width), line_bottom(line))


# fmt: off
_BOXES = [
    # key, proof label, first line, last line, left edge, right edge
    ("carrier", "CARRIER: PAYER NAME AND ADDRESS", 1, 5, 40.5, R),
    ("1", "1", 7, 8, L, M),
    ("1a", "1a INSURED'S I.D. NUMBER (For Program in Item 1)", 7, 8, M, R),
    ("2", "2 PATIENT'S NAME (Last Name, First Name, Middle Initial)", 9, 10, L, A),
    ("3", "3 PATIENT'S BIRTH DATE  MM DD YY            SEX", 9, 10, A, M),
    ("4", "4 INSURED'S NAME (Last Name, First Name, Middle Initial)", 9, 10, M, R),
    ("5", "5 PATIENT'S ADDRESS (No., Street)", 11, 12, L, A),
    ("6", "6 PATIENT RELATIONSHIP TO INSURED", 11, 12, A, M),
    ("7", "7 INSURED'S ADDRESS (No., Street)", 11, 12, M, R),
    ("5_city", "CITY", 13, 14, L, 24.5),
    ("5_state", "STATE", 13, 14, 24.5, A),
    ("8", "8 RESERVED FOR NUCC USE", 13, 16, A, M),
    ("7_city", "CITY", 13, 14, M, 72.75),
    ("7_state", "STATE", 13, 14, 72.75, R),
    ("5_zip", "ZIP CODE", 15, 16, L, 13.25),
    ("5_phone", "TELEPHONE (Include Area Code)", 15, 16, 13.25, A),
    ("7_zip", "ZIP CODE", 15, 16, M, 63.75),
    ("7_phone", "TELEPHONE (Include Area Code)", 15, 16, 63.75, R),
    ("9", "9 OTHER INSURED'S NAME (Last Name, First Name, Middle Initial)", 17, 18, L, A),
    ("10", "10 IS PATIENT'S CONDITION RELATED TO:", 17, 18, A, M),
    ("11", "11 INSURED'S POLICY GROUP OR FECA NUMBER", 17, 18, M, R),
    ("9a", "9a OTHER INSURED'S POLICY OR GROUP NUMBER", 19, 20, L, A),
    ("10a", "10a EMPLOYMENT? (Current or Previous)", 19, 20, A, M),
    ("11a", "11a INSURED'S DATE OF BIRTH  MM DD YY          SEX", 19, 20, M, R),
    ("9b", "9b RESERVED FOR NUCC USE", 21, 22, L, A),
    ("10b", "10b AUTO ACCIDENT?            PLACE (State)", 21, 22, A, M),
    ("11b", "11b OTHER CLAIM ID (Designated by NUCC)", 21, 22, M, R),
    ("9c", "9c RESERVED FOR NUCC USE", 23, 24, L, A),
    ("10c", "10c OTHER ACCIDENT?", 23, 24, A, M),
    ("11c", "11c INSURANCE PLAN NAME OR PROGRAM NAME", 23, 24, M, R),
    ("9d", "9d INSURANCE PLAN NAME OR PROGRAM NAME", 25, 26, L, A),
    ("10d", "10d CLAIM CODES (Designated by NUCC)", 25, 26, A, M),
    ("11d", "11d IS THERE ANOTHER HEALTH BENEFIT PLAN?", 25, 26, M, R),
    ("12", "12 PATIENT'S OR AUTHORIZED PERSON'S SIGNATURE", 27, 30, L, M),
    ("13", "13 INSURED'S OR AUTHORIZED PERSON'S SIGNATURE", 27, 30, M, R),
    ("14", "14 DATE OF CURRENT ILLNESS, INJURY, or PREGNANCY (LMP)", 31, 32, L, A),
    ("15", "15 OTHER DATE", 31, 32, A, M),
    ("16", "16 DATES PATIENT UNABLE TO WORK IN CURRENT OCCUPATION", 31, 32, M, R),
    ("17", "17 NAME OF REFERRING PROVIDER OR OTHER SOURCE", 33, 34, L, 27.75),
    ("17a", "17a", 33, 33, 27.75, M),
    ("17b", "17b NPI", 34, 34, 27.75, M),
    ("18", "18 HOSPITALIZATION DATES RELATED TO CURRENT SERVICES", 33, 34, M, R),
    ("19", "19 ADDITIONAL CLAIM INFORMATION (Designated by NUCC)", 35, 36, L, M),
    ("20", "20 OUTSIDE LAB?                       $ CHARGES", 35, 36, M, R),
    ("21",
     "21 DIAGNOSIS OR NATURE OF ILLNESS OR INJURY"
     "  Relate A-L to service line below (24E)", 37, 40, L, M),
    ("22", "22 RESUBMISSION CODE       ORIGINAL REF. NO.", 37, 38, M, R),
    ("23", "23 PRIOR AUTHORIZATION NUMBER", 39, 40, M, R),
    # Box 24: the heading (lines 41-42) and six service lines of two grid lines each, the
    # upper (shaded) one for supplemental information, the lower one for the service.
    ("24A",
     "24A DATE(S) OF SERVICE\n"
     "From             To\n"
     "MM   DD   YY   MM   DD   YY", 41, 54, L, 18.5),
    ("24B", "24B\nPLACE OF\nSERVICE", 41, 54, 18.5, 21.5),
    ("24C", "24C\n\nEMG", 41, 54, 21.5, 24.5),
    ("24D",
     "24D PROCEDURES, SERVICES, OR SUPPLIES\n"
     "(Explain Unusual Circumstances)\n"
     "CPT/HCPCS                  MODIFIER", 41, 54, 24.5, 44.5),
    ("24E", "24E\nDIAGNOSIS\nPOINTER", 41, 54, 44.5, M),
    ("24F", "24F\n\n$ CHARGES", 41, 54, M, 58.5),
    ("24G", "24G\nDAYS OR\nUNITS", 41, 54, 58.5, 62.5),
    ("24H", "24H\nEPSDT\nFamily\nPlan", 41, 54, 62.5, 64.5),
    ("24I", "24I\nID.\nQUAL.", 41, 54, 64.5, 67.5),
    ("24J", "24J\nRENDERING\nPROVIDER ID. #", 41, 54, 67.5, R),
    ("25", "25 FEDERAL TAX I.D. NUMBER", 55, 56, L, 22.5),
    ("26", "26 PATIENT'S ACCOUNT NO.", 55, 56, 22.5, 37.5),
    ("27", "27 ACCEPT ASSIGNMENT?", 55, 56, 37.5, M),
    ("28", "28 TOTAL CHARGE", 55, 56, M, 60.5),
    ("29", "29 AMOUNT PAID", 55, 56, 60.5, 70.5),
    ("30", "30 Rsvd for NUCC Use", 55, 56, 70.5, R),
    ("31",
     "31 SIGNATURE OF PHYSICIAN OR SUPPLIER\n"
     "INCLUDING DEGREES OR CREDENTIALS\n"
     "(I certify that the statements on the reverse\n"
     "apply to this bill and are made a part thereof.)", 57, 61, L, 22.5),
    ("32", "32 SERVICE FACILITY LOCATION INFORMATION", 57, 60, 22.5, M),
    ("32a", "a.", 61, 61, 22.5, 35.5),
    ("32b", "b.", 61, 61, 35.5, M),
    ("33", "33 BILLING PROVIDER INFO & PH #", 57, 60, M, R),
    ("33a", "a.", 61, 61, M, 62.5),
    ("33b", "b.", 61, 61, 62.5, R),
]
# fmt: on

#: Every box by key ("1a", "24F", "5_city" …).
BOXES: dict[str, Box] = {row[0]: Box(*row) for row in _BOXES}

#: The six service lines of box 24: (shaded supplemental line, service line).
SERVICE_LINES = [(41 + 2 * k, 42 + 2 * k) for k in range(1, 7)]

#: The grid cell of every check box: (box, choice) -> (line, column). OpenEMR Hcfa1500.php.
CHECKBOXES: dict[tuple[str, str], tuple[int, int]] = {
    ("1", "medicare"): (8, 1),
    ("1", "medicaid"): (8, 8),
    ("1", "tricare"): (8, 15),
    ("1", "champva"): (8, 24),
    ("1", "group"): (8, 31),
    ("1", "feca"): (8, 39),
    ("1", "other"): (8, 45),
    ("3", "M"): (10, 42),
    ("3", "F"): (10, 47),
    ("6", "self"): (12, 33),
    ("6", "spouse"): (12, 38),
    ("6", "child"): (12, 42),
    ("6", "other"): (12, 47),
    ("10a", "yes"): (20, 35),
    ("10a", "no"): (20, 41),
    ("11a", "M"): (20, 68),
    ("11a", "F"): (20, 75),
    ("10b", "yes"): (22, 35),
    ("10b", "no"): (22, 41),
    ("10c", "yes"): (24, 35),
    ("10c", "no"): (24, 41),
    ("11d", "yes"): (26, 52),
    ("11d", "no"): (26, 57),
    ("20", "yes"): (36, 52),
    ("20", "no"): (36, 57),
    ("25", "SSN"): (56, 17),
    ("25", "EIN"): (56, 19),
    ("27", "yes"): (56, 38),
    ("27", "no"): (56, 43),
}

#: Proof-copy captions of the check boxes: (box, choice) -> (text, side), side "above" (on the
#: label line), "before" or "after" the box, as on the printed form.
CHOICE_LABELS: dict[tuple[str, str], tuple[str, str]] = {
    ("1", "medicare"): ("MEDICARE", "above"),
    ("1", "medicaid"): ("MEDICAID", "above"),
    ("1", "tricare"): ("TRICARE", "above"),
    ("1", "champva"): ("CHAMPVA", "above"),
    ("1", "group"): ("GROUP HEALTH PLAN", "above"),
    ("1", "feca"): ("FECA BLK LUNG", "above"),
    ("1", "other"): ("OTHER", "above"),
    ("3", "M"): ("M", "before"),
    ("3", "F"): ("F", "before"),
    ("6", "self"): ("Self", "before"),
    ("6", "spouse"): ("Spouse", "before"),
    ("6", "child"): ("Child", "before"),
    ("6", "other"): ("Other", "before"),
    ("10a", "yes"): ("YES", "after"),
    ("10a", "no"): ("NO", "after"),
    ("11a", "M"): ("M", "before"),
    ("11a", "F"): ("F", "before"),
    ("10b", "yes"): ("YES", "after"),
    ("10b", "no"): ("NO", "after"),
    ("10c", "yes"): ("YES", "after"),
    ("10c", "no"): ("NO", "after"),
    ("11d", "yes"): ("YES", "after"),
    ("11d", "no"): ("NO", "after"),
    ("20", "yes"): ("YES", "after"),
    ("20", "no"): ("NO", "after"),
    ("25", "SSN"): ("SSN", "above"),
    ("25", "EIN"): ("EIN", "above"),
    ("27", "yes"): ("YES", "after"),
    ("27", "no"): ("NO", "after"),
}
