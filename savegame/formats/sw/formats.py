# Kiswahili formats (Django ships none, so sw fell back to no thousands separator at all).
# Kenyan usage is the same in both languages: 10,000.50 and 22 Des 2026.
DATE_FORMAT = "j F Y"
SHORT_DATE_FORMAT = "d/m/Y"
DATETIME_FORMAT = "j F Y H:i"
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1  # Monday (ISO weeks, as the challenges count them)
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
