from __future__ import annotations

import base64
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.audit.models import Checkpoint
from casework.audit.verification import consistency_proof, inclusion_proof, log_size
from crypto.audit_chain import ChainBroken
from crypto.merkle import ProofError


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class Command(BaseCommand):
    help = (
        "Print a Merkle proof of the audit log (RFC 9162), computed from the entries: "
        "--inclusion SEQ that entry SEQ is in the tree of --size entries (by default the "
        "newest signed checkpoint's), or --consistency OLD NEW that the tree of NEW entries "
        "extends the tree of OLD entries, which is what a witness holding only the "
        "checkpoint of OLD entries checks. Hashes are base64, one 'name: value' a line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--inclusion", type=int, metavar="SEQ")
        which.add_argument("--consistency", type=int, nargs=2, metavar=("OLD", "NEW"))
        parser.add_argument("--size", type=int, help="the tree size of an inclusion proof")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            lines = (
                self._inclusion(options["inclusion"], options["size"])
                if options["inclusion"] is not None
                else self._consistency(*options["consistency"])
            )
        except ChainBroken as broken:
            raise CommandError(f"the audit log is damaged ({broken}); run verify_audit") from None
        except ProofError as problem:
            raise CommandError(str(problem)) from None
        self.stdout.write("\n".join(lines))

    def _inclusion(self, seq: int, size: int | None) -> list[str]:
        if size is None:
            newest = Checkpoint.objects.order_by("-size").first()
            size = newest.size if newest is not None and newest.size >= seq else log_size()
        proof = inclusion_proof(seq, size)
        return [
            f"entry: {seq}",
            f"leaf index: {seq - 1}",
            f"tree size: {proof.size}",
            f"leaf hash: {_b64(proof.leaf)}",
            f"root: {_b64(proof.root)}",
            *(f"proof: {_b64(h)}" for h in proof.hashes),
        ]

    def _consistency(self, first: int, second: int) -> list[str]:
        proof = consistency_proof(first, second)
        return [
            f"old size: {first}",
            f"new size: {second}",
            f"old root: {_b64(proof.first_root)}",
            f"new root: {_b64(proof.root)}",
            *(f"proof: {_b64(h)}" for h in proof.hashes),
        ]
