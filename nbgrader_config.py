"""nbgrader configuration for this course (the repository root is the course directory)."""
c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "rnncourse"
# The instructor's notebooks, with solutions and hidden tests, and the student release made from them.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Checks run fresh random cases; a generous limit per cell, the same for every student.
c.Execute.timeout = 120
