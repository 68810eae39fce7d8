"""medmassage: clinical records and insurer reports for a solo medical massage therapist."""

__version__ = "0.1.0"
