"""Spark specifics of the engine path (``--engine spark``).

The claims are read by Spark itself (:mod:`riskscore.io.engine`); this module keeps the
query plans small. The load path builds one wide expression per column and check, and the
indicators build on those tables: without care every indicator query would carry (and
re-analyse) the whole validation plan. :func:`materialize` computes a DataFrame once and cuts
its lineage (a local checkpoint in the executors' block managers, so it works the same on
``local[*]`` and on a standalone cluster, without a shared file system).
"""

from __future__ import annotations


def materialize(df):
    """Compute a Spark DataFrame once and return it with its lineage cut.

    Parameters
    ----------
    df : pyspark.sql.DataFrame

    Returns
    -------
    pyspark.sql.DataFrame
        The same rows, read from the executors' block managers; later queries plan against
        a plain scan instead of the expression tree that produced them.
    """
    return df.localCheckpoint(eager=True)


def materialize_ibis(con, name: str, expr):
    """Materialise an Ibis expression on the PySpark backend as a temp view ``name``.

    Parameters
    ----------
    con : ibis PySpark backend
    name : str
        Temp view name (replaced when it exists).
    expr : ibis Table expression

    Returns
    -------
    ibis Table
        The view, as an Ibis table of the same schema.
    """
    session = con._session
    materialize(session.sql(con.compile(expr))).createOrReplaceTempView(name)
    return con.table(name)
