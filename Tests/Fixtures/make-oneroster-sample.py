#!/usr/bin/env python3
"""Writes the made-up OneRoster 1.1 CSV bundle the tests import (Tests/Fixtures/OneRoster/).

Two schools, 20 sections (10 each, in two terms of one school year), 24 teachers and 500 students;
every student is enrolled in 4 sections of their school. Deterministic (fixed seed): running it again
writes the same bytes, so the committed files and this script stay in step.

    python3 Tests/Fixtures/make-oneroster-sample.py [OUTPUT_DIR]
"""
import csv
import os
import random
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "OneRoster")
rng = random.Random(20260901)
STAMP = "2026-08-01T00:00:00.000Z"

GIVEN = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jordan", "Kai", "Logan", "Morgan",
         "Noa", "Parker", "Quinn", "Reese", "Rowan", "Sage", "Skyler", "Taylor", "Emil", "Zoë", "José", "Amaya", "Ngozi"]
FAMILY = ["Abara", "Bauer", "Chen", "Diaz", "Eriksen", "Fischer", "García", "Haddad", "Ito", "Jensen", "Kowalski",
          "Lindqvist", "Moreau", "Nakamura", "O'Brien", "Petrov", "Quispe", "Rossi", "Singh", "Tanaka", "Umarov",
          "Varga", "Wójcik", "Yilmaz"]
SUBJECTS = ["Algebra I", "Biology", "World History", "English 9", "Chemistry", "Geometry", "Spanish I",
            "Physics", "Art, Design & Media", "Music"]


def write(name, header, rows):
    with open(os.path.join(OUT, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)


def main():
    os.makedirs(OUT, exist_ok=True)
    schools = [("org-north", "North Valley High School", "255901001"), ("org-south", "South Ridge High School", "255901002")]
    write("manifest.csv", ["propertyName", "value"], [
        ["manifest.version", "1.0"], ["oneroster.version", "1.1"], ["file.academicSessions", "bulk"],
        ["file.classes", "bulk"], ["file.enrollments", "bulk"], ["file.orgs", "bulk"], ["file.users", "bulk"]])
    write("orgs.csv", ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
          [["org-district", "active", STAMP, "Valley Unified School District", "district", "2559", ""]] +
          [[sid, "active", STAMP, name, "school", ident, "org-district"] for sid, name, ident in schools])
    write("academicSessions.csv", ["sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
                                   "parentSourcedId", "schoolYear"], [
        ["sy-2027", "active", STAMP, "2026-2027", "schoolYear", "2026-08-17", "2027-06-04", "", "2027"],
        ["term-fall", "active", STAMP, "Fall Semester", "semester", "2026-08-17", "2026-12-18", "sy-2027", "2027"],
        ["term-spring", "active", STAMP, "Spring Semester", "semester", "2027-01-05", "2027-06-04", "sy-2027", "2027"]])

    users, classes, enrollments = [], [], []
    teachers = {}
    for s, (org, _, _) in enumerate(schools):
        for t in range(12):
            tid = f"t-{s + 1}{t + 1:02d}"
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            teachers.setdefault(org, []).append(tid)
            users.append([tid, "active", STAMP, "true", org, "teacher", f"{tid}", "", given, family, "",
                          f"T{s + 1}{t + 1:03d}", f"{tid}@valley.example.org", "", "", "", "", ""])
    students = {org: [] for org, _, _ in schools}
    for n in range(500):
        org = schools[n % 2][0]
        sid = f"s-{n + 1:04d}"
        students[org].append(sid)
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        grade = f"{9 + n % 4:02d}"
        users.append([sid, "active", "", "true", org, "student", f"stu{n + 1:04d}", "", given, family, "",
                      f"S{n + 1:05d}", f"stu{n + 1:04d}@students.valley.example.org", "", "", "", grade, ""])
    for s, (org, _, _) in enumerate(schools):
        for c in range(10):
            cid = f"sec-{s + 1}-{c + 1:02d}"
            term = "term-fall" if c < 5 else "term-spring"
            late = "" if c % 3 else "300"
            classes.append([cid, "active", STAMP, SUBJECTS[c], "09,10,11,12", f"crs-{c + 1:02d}", f"C{s + 1}{c + 1:02d}",
                            "scheduled", f"Room {100 * (s + 1) + c}", org, term, "", "", f"{c % 6 + 1}", late])
            teacher = teachers[org][c]
            enrollments.append([f"e-{cid}-{teacher}", "active", "", cid, org, teacher, "teacher", "true", "", ""])
            if c % 4 == 0:  # a co-teacher on some sections
                co = teachers[org][10 + c % 2]
                enrollments.append([f"e-{cid}-{co}", "active", "", cid, org, co, "teacher", "false", "", ""])
    for s, (org, _, _) in enumerate(schools):
        for sid in students[org]:
            for c in sorted(rng.sample(range(10), 4)):
                cid = f"sec-{s + 1}-{c + 1:02d}"
                enrollments.append([f"e-{cid}-{sid}", "active", "", cid, org, sid, "student", "", "", ""])
    write("users.csv", ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username",
                        "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
                        "agentSourcedIds", "grades", "password"], users)
    write("classes.csv", ["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode",
                          "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes",
                          "periods", "metadata.attendance.lateAfterS"], classes)
    write("enrollments.csv", ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
                              "userSourcedId", "role", "primary", "beginDate", "endDate"], enrollments)


main()
