"""Money of the asset register: the project ledger's fen helpers (one place: projects.money)."""

from jingzhun.projects.money import MAX_FEN, check_fen, parse_yuan, yuan

__all__ = ["MAX_FEN", "check_fen", "parse_yuan", "yuan"]
