/* /manage/notifications/: live progress of announcements still sending. */
document.querySelectorAll('[data-progress-url][data-status="sending"]').forEach(function (li) {
  var timer = setInterval(function () {
    fetch(li.dataset.progressUrl, {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (p) {
      li.querySelector('progress').value = p.percent;
      li.querySelector('.progress-text').textContent = p.sent + ' / ' + p.recipients + ' (' + p.failed + ' ✗, ' + p.skipped + ' –)';
      if (p.status !== 'sending') clearInterval(timer);
    }).catch(function () { clearInterval(timer); });
  }, 2000);
});
