"""Pure domain logic: no I/O, no AWS, no database. Everything here is unit-tested on real Textract output."""
