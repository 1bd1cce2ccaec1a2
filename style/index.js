import './base.css';
import './resources.css';
import './inbox.css';
