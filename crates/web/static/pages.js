// depot's pages work without this script; with it, key fields get a working "Copy" button and
// uploads show their progress. No framework, no build step.
"use strict";

// Copy buttons: <button data-copy="ID"> copies the value of the input with that id.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  event.preventDefault();
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const done = () => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  };
  const fallback = () => {
    field.select();
    if (document.execCommand("copy")) done();
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, fallback);
  } else {
    fallback();
  }
});

// The upload form: sent with XMLHttpRequest so that the bar shows how much has gone; the
// server answers as for a plain post (a redirect, or the page with the refusal).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const error = document.getElementById("upload-error");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      bar.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = bar.value < 100 ? `${bar.value} %` : "Checking the package…";
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300 && request.responseURL !== form.action) {
        window.location.assign(request.responseURL);
        return;
      }
      const page = new DOMParser().parseFromString(request.responseText, "text/html");
      const why = page.querySelector("[role=alert]");
      error.textContent = why ? why.textContent : `The upload failed (${request.status}).`;
      error.hidden = false;
      bar.hidden = true;
      status.textContent = "";
      button.disabled = false;
    });
    request.addEventListener("error", () => {
      error.textContent = "The connection broke off during the upload: try again.";
      error.hidden = false;
      button.disabled = false;
    });
    error.hidden = true;
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    request.send(new FormData(form));
  });
});

// Destructive actions ask first: a button with data-confirm submits its form only when the
// question is answered OK.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Times in the reader's own zone: <time datetime="ISO"> shows the local date and time, with
// the ISO form (UTC) on hover.
document.addEventListener("DOMContentLoaded", () => {
  for (const t of document.querySelectorAll("time[datetime]")) {
    const at = new Date(t.dateTime);
    if (Number.isNaN(at.getTime())) continue;
    t.title = t.dateTime;
    t.textContent = t.dateTime.length <= 10
      ? at.toLocaleDateString()
      : at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }
});
