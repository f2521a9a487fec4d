"""Configuration and extensions of the TFX components."""


def __getattr__(name):
    # KFP v2 names a custom artifact type `<module>.<Class>` and imports it by that
    # path at run time; importing lazily keeps `components` free of TFX imports.
    if name == "DataValidationReport":
        from components.data_gate.component import DataValidationReport

        return DataValidationReport
    if name == "RunReportPage":
        from components.run_report.component import RunReportPage

        return RunReportPage
    raise AttributeError(f"module 'components' has no attribute {name!r}")
