"""A small, generic description of bit fields: the one source of truth for every layout.

Every register, table entry and tag in avicviz is a :class:`Layout` made of :class:`Field`
objects.  The model packs and unpacks with it, the plots draw it, the widgets label their
controls from it and the CLI prints it, so a bit position is written down exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ._validate import check_int

__all__ = ["Field", "Layout"]


@dataclass(frozen=True)
class Field:
    """One named bit range ``[msb:lsb]`` (inclusive) of a wider value.

    >>> f = Field("valid", 63, 63, "entry is valid")
    >>> f.width, hex(f.mask)
    (1, '0x8000000000000000')
    >>> f.extract(1 << 63)
    1
    >>> Field("host_apic_id", 11, 0).bits
    '11:0'
    """

    name: str
    msb: int
    lsb: int
    meaning: str = ""
    reserved: bool = False
    #: Where the bit range comes from (kernel macro, manual section); shown by plots and docs.
    source: str = ""

    def __post_init__(self) -> None:
        if not (0 <= self.lsb <= self.msb):
            raise ValueError(
                f"field {self.name!r}: bit range [{self.msb}:{self.lsb}] is invalid "
                "(need 0 <= lsb <= msb)"
            )

    @property
    def width(self) -> int:
        """Number of bits in the field."""
        return self.msb - self.lsb + 1

    @property
    def max_value(self) -> int:
        """Largest value the field can hold (all ones)."""
        return (1 << self.width) - 1

    @property
    def mask(self) -> int:
        """The field's bits in place within the wider value."""
        return self.max_value << self.lsb

    @property
    def bits(self) -> str:
        """The bit range as the AMD manual writes it: ``"msb:lsb"`` or ``"n"``."""
        return f"{self.msb}:{self.lsb}" if self.msb != self.lsb else str(self.lsb)

    def extract(self, value: int) -> int:
        """Return this field's value taken out of ``value``."""
        return (value >> self.lsb) & self.max_value

    def insert(self, value: int, field_value: int) -> int:
        """Return ``value`` with this field replaced by ``field_value`` (which must fit)."""
        if not 0 <= field_value <= self.max_value:
            raise ValueError(
                f"{self.name}={field_value} does not fit the {self.width}-bit field "
                f"[{self.bits}]: valid range 0..{self.max_value} (0x{self.max_value:X})"
            )
        return (value & ~self.mask) | (field_value << self.lsb)


@dataclass(frozen=True)
class Layout:
    """An ordered set of non-overlapping fields inside a ``width``-bit value.

    >>> tag = Layout("GATag", 32, (Field("vcpu", 8, 0), Field("vm_id", 31, 9)))
    >>> hex(tag.pack(vm_id=1, vcpu=300))
    '0x32c'
    >>> tag.unpack(0x32C)
    {'vcpu': 300, 'vm_id': 1}
    >>> tag["vm_id"].bits
    '31:9'
    """

    name: str
    width: int
    fields: tuple[Field, ...]
    description: str = ""
    _by_name: Mapping[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        used = 0
        for f in self.fields:
            if f.msb >= self.width:
                raise ValueError(
                    f"layout {self.name!r}: field {f.name!r} [{f.bits}] lies outside "
                    f"the {self.width}-bit value"
                )
            if used & f.mask:
                raise ValueError(f"layout {self.name!r}: field {f.name!r} overlaps another field")
            used |= f.mask
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def __getitem__(self, name: str) -> Field:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(
                f"layout {self.name!r} has no field {name!r}; fields: "
                + ", ".join(self.names)
            ) from None

    def __iter__(self):
        return iter(self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the non-reserved fields, low bits first."""
        return tuple(f.name for f in self.fields if not f.reserved)

    @property
    def max_value(self) -> int:
        """Largest value of the whole layout."""
        return (1 << self.width) - 1

    @property
    def reserved_mask(self) -> int:
        """Bits that belong to no named field or to a field marked reserved."""
        named = 0
        for f in self.fields:
            if not f.reserved:
                named |= f.mask
        return self.max_value & ~named

    def pack(self, **values: int) -> int:
        """Build a value from field values; omitted fields are 0, unknown names are errors."""
        out = 0
        for name, v in values.items():
            f = self[name]
            if f.reserved:
                raise ValueError(f"{name} is a reserved field of {self.name}; it cannot be set")
            out = f.insert(out, check_int(name, v, 0, f.max_value))
        return out

    def unpack(self, value: int) -> dict[str, int]:
        """Split ``value`` into its named (non-reserved) fields."""
        check_int(self.name, value, 0, self.max_value)
        return {f.name: f.extract(value) for f in self.fields if not f.reserved}

    def rows(self, value: int) -> list[tuple[Field, int]]:
        """Every field, reserved ones included, with its value; high bits first (for display)."""
        check_int(self.name, value, 0, self.max_value)
        return [(f, f.extract(value)) for f in sorted(self.fields, key=lambda f: -f.msb)]

    def segments(self) -> list[Field]:
        """The fields plus anonymous reserved gaps, covering every bit, low bits first."""
        out: list[Field] = []
        bit = 0
        for f in sorted(self.fields, key=lambda f: f.lsb):
            if f.lsb > bit:
                out.append(Field("reserved", f.lsb - 1, bit, "reserved", reserved=True))
            out.append(f)
            bit = f.msb + 1
        if bit < self.width:
            out.append(Field("reserved", self.width - 1, bit, "reserved", reserved=True))
        return out

