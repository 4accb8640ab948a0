"""nbgrader's settings for the nasnb course: run nbgrader from this folder (see docs/course.md).

source/<lesson>/<lesson>.ipynb are the instructor notebooks written by tools/make_notebook.py;
``nbgrader generate_assignment <lesson>`` releases the student version (the same as notebooks/<lesson>.ipynb)
and ``nbgrader autograde <lesson>`` grades what students submit into submitted/<student>/<lesson>/.
"""

c = get_config()  # noqa: F821 (nbgrader provides it)
# Students start from the line above the solution (q21 = ...), so the stub must not raise.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}
# Each tutorial runs in under a minute on two cores; leave room for a slow grading machine.
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True
